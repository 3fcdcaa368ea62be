<?php
/**
 * Wiring: hooks live here, outside the gateway class, because WooCommerce loads gateways lazily.
 *
 * @package Cartbridge
 */

defined( 'ABSPATH' ) || exit;

/**
 * Registers the gateway, the Blocks integration, the compatibility declarations and the admin screens.
 */
class Cartbridge_Plugin {

	const GATEWAY_ID = 'cartbridge';

	/**
	 * Hooks everything up.
	 */
	public static function init() {
		add_action( 'before_woocommerce_init', array( __CLASS__, 'declare_compatibility' ) );
		add_action( 'plugins_loaded', array( __CLASS__, 'load' ), 11 );
		add_action( 'init', array( __CLASS__, 'load_textdomain' ) );
		add_filter( 'woocommerce_payment_gateways', array( __CLASS__, 'add_gateway' ) );
		add_action( 'woocommerce_blocks_loaded', array( __CLASS__, 'register_blocks_support' ) );
		add_action( 'woocommerce_thankyou_' . self::GATEWAY_ID, array( __CLASS__, 'thankyou' ) );
		add_action( 'admin_post_cartbridge_connect', array( __CLASS__, 'handle_connect' ) );
		add_action( 'add_meta_boxes', array( __CLASS__, 'add_meta_box' ), 10, 2 );
		add_filter( 'plugin_action_links_' . plugin_basename( CARTBRIDGE_PLUGIN_FILE ), array( __CLASS__, 'action_links' ) );
	}

	/**
	 * HPOS and Cart/Checkout Blocks compatibility.
	 */
	public static function declare_compatibility() {
		if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', CARTBRIDGE_PLUGIN_FILE, true );
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', CARTBRIDGE_PLUGIN_FILE, true );
		}
	}

	/**
	 * Loads the gateway class once WooCommerce is there.
	 */
	public static function load() {
		if ( ! class_exists( 'WC_Payment_Gateway' ) ) {
			add_action( 'admin_notices', array( __CLASS__, 'notice_woocommerce_missing' ) );
			return;
		}
		require_once CARTBRIDGE_PLUGIN_DIR . '/includes/class-cartbridge-gateway.php';
	}

	/**
	 * Translations.
	 */
	public static function load_textdomain() {
		load_plugin_textdomain( 'cartbridge-for-woocommerce', false, dirname( plugin_basename( CARTBRIDGE_PLUGIN_FILE ) ) . '/languages' );
	}

	/**
	 * Adds the gateway to WooCommerce.
	 *
	 * @param array $gateways Gateway class names.
	 * @return array
	 */
	public static function add_gateway( $gateways ) {
		if ( class_exists( 'Cartbridge_Gateway' ) ) {
			$gateways[] = 'Cartbridge_Gateway';
		}
		return $gateways;
	}

	/**
	 * The gateway instance WooCommerce holds, or a fresh one.
	 *
	 * @return Cartbridge_Gateway|null
	 */
	public static function gateway() {
		if ( ! class_exists( 'Cartbridge_Gateway' ) ) {
			return null;
		}
		if ( function_exists( 'WC' ) && WC() && method_exists( WC(), 'payment_gateways' ) ) {
			$gateways = WC()->payment_gateways()->payment_gateways();
			if ( isset( $gateways[ self::GATEWAY_ID ] ) && $gateways[ self::GATEWAY_ID ] instanceof Cartbridge_Gateway ) {
				return $gateways[ self::GATEWAY_ID ];
			}
		}
		return new Cartbridge_Gateway();
	}

	/**
	 * Registers the payment method type for the Checkout block.
	 */
	public static function register_blocks_support() {
		if ( ! class_exists( '\Automattic\WooCommerce\Blocks\Payments\Integrations\AbstractPaymentMethodType' ) ) {
			return;
		}
		require_once CARTBRIDGE_PLUGIN_DIR . '/includes/class-cartbridge-blocks.php';
		add_action(
			'woocommerce_blocks_payment_method_type_registration',
			function ( $registry ) {
				$registry->register( new Cartbridge_Blocks() );
			}
		);
	}

	/**
	 * Thank-you page.
	 *
	 * @param int $order_id Order id.
	 */
	public static function thankyou( $order_id ) {
		$gateway = self::gateway();
		if ( $gateway ) {
			$gateway->render_thankyou( $order_id );
		}
	}

	/**
	 * "Connect to bridge": asks the bridge for a wc-auth URL of this shop and sends the admin there.
	 */
	public static function handle_connect() {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'cartbridge-for-woocommerce' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( 'cartbridge_connect' );
		$settings_url = self::settings_url();
		$gateway      = self::gateway();
		if ( ! $gateway ) {
			wp_safe_redirect( $settings_url );
			exit;
		}
		try {
			$result = $gateway->api_client()->start_connect( home_url( '/' ), $settings_url );
		} catch ( Cartbridge_Api_Exception $e ) {
			$gateway->log( 'error', 'Connect to bridge failed: ' . $e->describe() );
			wp_safe_redirect( add_query_arg( 'cartbridge_connect', 'bridge_error', $settings_url ) );
			exit;
		}
		$authorize = isset( $result['authorizeUrl'] ) ? (string) $result['authorizeUrl'] : '';
		// The authorization page must be this shop's own wc-auth endpoint, whatever the bridge says.
		if ( 0 !== strpos( $authorize, untrailingslashit( home_url() ) . '/wc-auth/v1/authorize?' ) ) {
			$gateway->log( 'error', 'Connect to bridge: unexpected authorize URL ' . $authorize );
			wp_safe_redirect( add_query_arg( 'cartbridge_connect', 'bridge_error', $settings_url ) );
			exit;
		}
		wp_safe_redirect( $authorize );
		exit;
	}

	/**
	 * The gateway's settings screen.
	 *
	 * @return string
	 */
	public static function settings_url() {
		return admin_url( 'admin.php?page=wc-settings&tab=checkout&section=' . self::GATEWAY_ID );
	}

	/**
	 * "Settings" link on the plugins screen.
	 *
	 * @param array $links Links.
	 * @return array
	 */
	public static function action_links( $links ) {
		array_unshift( $links, '<a href="' . esc_url( self::settings_url() ) . '">' . esc_html__( 'Settings', 'cartbridge-for-woocommerce' ) . '</a>' );
		return $links;
	}

	/**
	 * Order screen box (HPOS and legacy screens), only on orders that are or were paid through this
	 * gateway: every other order would get an empty box.
	 *
	 * @param string                $screen_or_post_type Screen id (HPOS) or post type (legacy).
	 * @param WC_Order|WP_Post|null $post_or_order       The order being edited.
	 */
	public static function add_meta_box( $screen_or_post_type = '', $post_or_order = null ) {
		$order = ( $post_or_order instanceof WC_Order ) ? $post_or_order : ( ( $post_or_order instanceof WP_Post ) ? wc_get_order( $post_or_order->ID ) : false );
		if ( ! $order || ( self::GATEWAY_ID !== $order->get_payment_method() && '' === (string) $order->get_meta( '_cartbridge_session_id', true ) ) ) {
			return;
		}
		$screen = function_exists( 'wc_get_page_screen_id' ) ? wc_get_page_screen_id( 'shop-order' ) : 'shop_order';
		add_meta_box(
			'cartbridge-payment',
			__( 'Crypto payment (Cartbridge)', 'cartbridge-for-woocommerce' ),
			array( __CLASS__, 'render_meta_box' ),
			$screen,
			'side',
			'default'
		);
	}

	/**
	 * Renders the order screen box.
	 *
	 * @param WP_Post|WC_Order $post_or_order Legacy post or HPOS order.
	 */
	public static function render_meta_box( $post_or_order ) {
		$order = ( $post_or_order instanceof WC_Order ) ? $post_or_order : wc_get_order( $post_or_order->ID );
		if ( ! $order ) {
			return;
		}
		$session_id = (string) $order->get_meta( '_cartbridge_session_id', true );
		if ( '' === $session_id ) {
			echo '<p>' . esc_html__( 'No crypto checkout session for this order.', 'cartbridge-for-woocommerce' ) . '</p>';
			return;
		}
		$rows = array(
			__( 'Session', 'cartbridge-for-woocommerce' )     => $session_id,
			__( 'Provider', 'cartbridge-for-woocommerce' )    => (string) $order->get_meta( '_cartbridge_provider', true ),
			__( 'Status', 'cartbridge-for-woocommerce' )      => (string) $order->get_meta( '_cartbridge_status', true ),
			__( 'Amount', 'cartbridge-for-woocommerce' )      => (string) $order->get_meta( '_cartbridge_amount', true ),
			__( 'Amount paid', 'cartbridge-for-woocommerce' ) => (string) $order->get_meta( '_cartbridge_amount_paid', true ),
		);
		echo '<table class="cartbridge-session"><tbody>';
		foreach ( $rows as $label => $value ) {
			if ( '' === $value ) {
				continue;
			}
			echo '<tr><th scope="row">' . esc_html( $label ) . '</th><td>' . esc_html( $value ) . '</td></tr>';
		}
		echo '</tbody></table>';
		$payments = json_decode( (string) $order->get_meta( '_cartbridge_payments', true ), true );
		if ( is_array( $payments ) && $payments ) {
			echo '<p><strong>' . esc_html__( 'Transactions', 'cartbridge-for-woocommerce' ) . '</strong></p><ul>';
			foreach ( $payments as $payment ) {
				if ( ! is_array( $payment ) ) {
					continue;
				}
				$hash   = isset( $payment['txHash'] ) ? (string) $payment['txHash'] : ( isset( $payment['reference'] ) ? (string) $payment['reference'] : '' );
				$amount = isset( $payment['amount'] ) ? trim( $payment['amount'] . ' ' . ( isset( $payment['currency'] ) ? $payment['currency'] : '' ) ) : '';
				echo '<li>';
				if ( $amount ) {
					echo esc_html( $amount ) . ' — ';
				}
				if ( ! empty( $payment['explorerUrl'] ) ) {
					echo '<a href="' . esc_url( $payment['explorerUrl'] ) . '" target="_blank" rel="noopener noreferrer">' . esc_html( $hash ) . '</a>';
				} else {
					echo '<code>' . esc_html( $hash ) . '</code>';
				}
				echo '</li>';
			}
			echo '</ul>';
		}
		$checkout_url = (string) $order->get_meta( '_cartbridge_checkout_url', true );
		if ( '' !== $checkout_url && $order->needs_payment() ) {
			echo '<p><a href="' . esc_url( $checkout_url ) . '" target="_blank" rel="noopener noreferrer">' . esc_html__( 'Open payment page', 'cartbridge-for-woocommerce' ) . '</a></p>';
		}
	}

	/**
	 * Shown when WooCommerce is not active.
	 */
	public static function notice_woocommerce_missing() {
		echo '<div class="notice notice-error"><p>' . esc_html__( 'Cartbridge for WooCommerce needs WooCommerce to be installed and active.', 'cartbridge-for-woocommerce' ) . '</p></div>';
	}
}
