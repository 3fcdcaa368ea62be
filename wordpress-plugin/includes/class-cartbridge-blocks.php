<?php
/**
 * Checkout block support.
 *
 * @package Cartbridge
 */

defined( 'ABSPATH' ) || exit;

use Automattic\WooCommerce\Blocks\Payments\Integrations\AbstractPaymentMethodType;

/**
 * The payment method type for the Checkout block. No payment JS is needed for a redirect gateway: the
 * Store API runs the classic process_payment() and follows its redirect.
 */
final class Cartbridge_Blocks extends AbstractPaymentMethodType {

	/**
	 * Must equal the gateway id.
	 *
	 * @var string
	 */
	protected $name = 'cartbridge';

	/**
	 * Loads the gateway settings.
	 */
	public function initialize() {
		$this->settings = get_option( 'woocommerce_cartbridge_settings', array() );
	}

	/**
	 * Active when the gateway is available.
	 *
	 * @return bool
	 */
	public function is_active() {
		$gateway = Cartbridge_Plugin::gateway();
		return $gateway ? $gateway->is_available() : false;
	}

	/**
	 * The front-end script (plain JS, no build step).
	 *
	 * @return string[]
	 */
	public function get_payment_method_script_handles() {
		wp_register_script(
			'cartbridge-blocks',
			plugins_url( 'assets/js/blocks.js', CARTBRIDGE_PLUGIN_FILE ),
			array( 'wc-blocks-registry', 'wc-settings', 'wp-element', 'wp-html-entities', 'wp-i18n' ),
			CARTBRIDGE_VERSION,
			true
		);
		if ( function_exists( 'wp_set_script_translations' ) ) {
			wp_set_script_translations( 'cartbridge-blocks', 'cartbridge-for-woocommerce', CARTBRIDGE_PLUGIN_DIR . '/languages' );
		}
		return array( 'cartbridge-blocks' );
	}

	/**
	 * Data for the script (`getSetting('cartbridge_data')`).
	 *
	 * @return array
	 */
	public function get_payment_method_data() {
		$gateway = Cartbridge_Plugin::gateway();
		return array(
			'title'       => $gateway ? $gateway->title : $this->get_setting( 'title' ),
			'description' => $gateway ? $gateway->description : $this->get_setting( 'description' ),
			'supports'    => $gateway ? array_values( array_filter( $gateway->supports, array( $gateway, 'supports' ) ) ) : array( 'products' ),
		);
	}
}
