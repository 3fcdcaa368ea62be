#!/bin/sh
# Builds cartbridge-for-woocommerce.zip, installable from Plugins > Add New > Upload Plugin.
# Usage: wordpress-plugin/build-zip.sh [output.zip]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$PWD/cartbridge-for-woocommerce.zip"}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/cartbridge-for-woocommerce"
(cd "$here" && tar cf - --exclude=build-zip.sh --exclude='*.zip' .) | (cd "$stage/cartbridge-for-woocommerce" && tar xf -)
rm -f "$out"
(cd "$stage" && zip -qr -X "$out" cartbridge-for-woocommerce)
echo "$out"
