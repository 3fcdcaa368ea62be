#!/bin/sh
# Regenerates wordpress-plugin/languages/cartbridge-for-woocommerce.pot with GNU xgettext (Debian: gettext).
# The test suite checks that every translatable string of the plugin is in the .pot.
set -eu
plugin=$(cd "$(dirname "$0")/../../wordpress-plugin" && pwd)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cd "$plugin"
xgettext --language=PHP --from-code=UTF-8 --add-comments=translators: \
  --keyword=__ --keyword=_e --keyword=esc_html__ --keyword=esc_html_e --keyword=esc_attr__ --keyword=esc_attr_e \
  --keyword=_x:1,2c --keyword=_n:1,2 -o "$tmp" $(find . -name '*.php' | sort)
xgettext --language=JavaScript --from-code=UTF-8 --keyword=__ -j -o "$tmp" assets/js/blocks.js
sed -e 's/^"Content-Type: text\/plain; charset=CHARSET\\n"/"Content-Type: text\/plain; charset=UTF-8\\n"/' \
    -e 's/^"Project-Id-Version: .*"$/"Project-Id-Version: Cartbridge for WooCommerce 0.1.0\\n"/' \
    -e 's/^"Report-Msgid-Bugs-To: .*"$/"Report-Msgid-Bugs-To: https:\/\/github.com\/cartbridge\/cartbridge\/issues\\n"/' \
    -e 's/^# SOME DESCRIPTIVE TITLE./# Copyright (C) Cartbridge/' \
    -e '/^# Copyright (C) YEAR/d' \
    -e 's/^# This file is distributed under the same license as the PACKAGE package./# This file is distributed under the same license as the Cartbridge for WooCommerce plugin (GPL-2.0-or-later)./' \
    -e '/^#, fuzzy$/d' "$tmp" > languages/cartbridge-for-woocommerce.pot
msgfmt --check-format -o /dev/null languages/cartbridge-for-woocommerce.pot
