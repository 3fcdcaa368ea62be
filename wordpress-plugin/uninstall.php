<?php
/**
 * Clean uninstall: removes the plugin's settings. Order meta (session ids, transactions) is order
 * history and stays with the orders.
 *
 * @package Cartbridge
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

delete_option( 'woocommerce_cartbridge_settings' );
delete_transient( 'cartbridge_bridge_status' );
