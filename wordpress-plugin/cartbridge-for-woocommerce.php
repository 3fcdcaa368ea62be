<?php
/**
 * Plugin Name:       Cartbridge for WooCommerce
 * Plugin URI:        https://github.com/cartbridge/cartbridge
 * Description:       Accept crypto payments through hosted checkouts (via the Cartbridge bridge). Paid orders move to Processing by themselves; no webhook has to reach WordPress.
 * Version:           0.1.0
 * Requires at least: 6.2
 * Requires PHP:      7.4
 * Requires Plugins:  woocommerce
 * Author:            Cartbridge
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       cartbridge-for-woocommerce
 * Domain Path:       /languages
 * WC requires at least: 7.6
 * WC tested up to:   10.0
 *
 * @package Cartbridge
 */

defined( 'ABSPATH' ) || exit;

define( 'CARTBRIDGE_VERSION', '0.1.0' );
define( 'CARTBRIDGE_PLUGIN_FILE', __FILE__ );
define( 'CARTBRIDGE_PLUGIN_DIR', __DIR__ );

require_once CARTBRIDGE_PLUGIN_DIR . '/includes/class-cartbridge-api-client.php';
require_once CARTBRIDGE_PLUGIN_DIR . '/includes/class-cartbridge-order-payload.php';
require_once CARTBRIDGE_PLUGIN_DIR . '/includes/class-cartbridge-plugin.php';

Cartbridge_Plugin::init();
