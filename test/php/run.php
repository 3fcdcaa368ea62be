<?php
/**
 * Runs one scenario of the WordPress plugin under php-cli with the stand-ins in ./stubs.
 * Input: JSON on stdin `{scenario, bridgeUrl, key, settings?, order?, ...}`. Output: one JSON document
 * on stdout, printed at shutdown (the plugin calls `exit` after redirects, as WordPress code does).
 */

error_reporting( E_ALL );
ini_set( 'display_errors', 'stderr' );
set_error_handler(
	function ( $severity, $message, $file, $line ) {
		throw new ErrorException( $message, 0, $severity, $file, $line );
	}
);

require __DIR__ . '/stubs/wordpress.php';
require __DIR__ . '/stubs/woocommerce.php';

$input            = json_decode( stream_get_contents( STDIN ), true );
$GLOBALS['cb_in'] = $input;
$GLOBALS['cb_out'] = array();

register_shutdown_function(
	function () {
		$error = error_get_last();
		$orders = array();
		foreach ( $GLOBALS['cb_test']['orders'] as $id => $order ) {
			$orders[ $id ] = array( 'meta' => $order->meta, 'notes' => $order->notes, 'saves' => $order->saves );
		}
		echo json_encode(
			array(
				'out'       => $GLOBALS['cb_out'],
				'notices'   => $GLOBALS['cb_test']['notices'],
				'logs'      => $GLOBALS['cb_test']['logs'],
				'redirects' => $GLOBALS['cb_test']['redirects'],
				'http'      => $GLOBALS['cb_test']['http'],
				'orders'    => $orders,
				'options'   => $GLOBALS['cb_test']['options'],
				'admin'     => isset( $GLOBALS['cb_test']['admin_messages'] ) ? $GLOBALS['cb_test']['admin_messages'] : array(),
				'settingsErrors' => isset( $GLOBALS['cb_test']['settings_errors'] ) ? $GLOBALS['cb_test']['settings_errors'] : array(),
				'fatal'     => $error && in_array( $error['type'], array( E_ERROR, E_PARSE, E_COMPILE_ERROR, E_CORE_ERROR ), true ) ? $error['message'] : null,
			),
			JSON_UNESCAPED_SLASHES
		);
	}
);

function cb_settings( array $overrides = array() ) {
	$in = $GLOBALS['cb_in'];
	update_option(
		'woocommerce_cartbridge_settings',
		array_merge(
			array(
				'enabled'         => 'yes',
				'title'           => 'Pay with crypto',
				'description'     => 'Pay on the next page.',
				'bridge_url'      => isset( $in['bridgeUrl'] ) ? $in['bridgeUrl'] : '',
				'test_secret_key' => isset( $in['key'] ) ? $in['key'] : '',
				'secret_key'      => '',
				'testmode'        => 'yes',
				'provider'        => '',
				'debug'           => 'yes',
			),
			isset( $in['settings'] ) ? $in['settings'] : array(),
			$overrides
		)
	);
}

function cb_order( array $data ) {
	$order = new WC_Order( $data );
	if ( isset( $data['meta'] ) ) {
		$order->meta = $data['meta'];
	}
	return $order;
}

if ( ! empty( $input['decimals'] ) || ( isset( $input['decimals'] ) && 0 === $input['decimals'] ) ) {
	$GLOBALS['cb_test']['decimals'] = (int) $input['decimals'];
}
cb_settings();
if ( isset( $input['homeUrl'] ) ) {
	$GLOBALS['cb_test']['home_url'] = $input['homeUrl'];
}
$plugin_dir = isset( $input['pluginDir'] ) ? $input['pluginDir'] : dirname( __DIR__, 2 ) . '/wordpress-plugin';
require $plugin_dir . '/cartbridge-for-woocommerce.php';
do_action( 'before_woocommerce_init' );
do_action( 'plugins_loaded' );
do_action( 'init' );

switch ( $input['scenario'] ) {
	case 'bootstrap':
		do_action( 'woocommerce_blocks_loaded' );
		$registered = array();
		$registry   = new class( $registered ) {
			public $types = array();
			public function register( $type ) {
				$this->types[] = $type;
			}
		};
		do_action( 'woocommerce_blocks_payment_method_type_registration', $registry );
		$blocks = $registry->types[0];
		$blocks->initialize();
		do_action( 'add_meta_boxes', 'woocommerce_page_wc-orders', new WC_Order( array( 'id' => 99 ) ) );
		$GLOBALS['cb_out'] = array(
			'declared'       => \Automattic\WooCommerce\Utilities\FeaturesUtil::$declared,
			'gateways'       => apply_filters( 'woocommerce_payment_gateways', array() ),
			'thankyouHooked' => ! empty( $GLOBALS['cb_test']['actions']['woocommerce_thankyou_cartbridge'] ),
			'blocksName'     => $blocks->get_name(),
			'blocksActive'   => $blocks->is_active(),
			'blocksScripts'  => $blocks->get_payment_method_script_handles(),
			'scripts'        => $GLOBALS['cb_test']['scripts'],
			'blocksData'     => $blocks->get_payment_method_data(),
			'metaBoxScreen'  => $GLOBALS['cb_test']['meta_boxes']['cartbridge-payment']['screen'],
			'gatewayId'      => ( new Cartbridge_Gateway() )->id,
			'formFields'     => array_keys( ( new Cartbridge_Gateway() )->form_fields ),
		);
		break;

	case 'client':
		$client = new Cartbridge_Api_Client( $input['bridgeUrl'], $input['key'] );
		$out    = array();
		$first  = $client->create_checkout_session( $input['payload'], 'php-client-test-1' );
		$again  = $client->create_checkout_session( $input['payload'], 'php-client-test-1' );
		$read   = $client->get_checkout_session( $first['id'] );
		$out['first']  = $first;
		$out['againId'] = $again['id'];
		$out['readStatus'] = $read['status'];
		$bad = $input['payload'];
		$bad['amount'] = '999.99';
		try {
			$client->create_checkout_session( $bad, 'php-client-test-2' );
			$out['badError'] = null;
		} catch ( Cartbridge_Api_Exception $e ) {
			$out['badError'] = array( 'code' => $e->error_code, 'status' => $e->http_status, 'message' => $e->getMessage(), 'requestId' => $e->request_id, 'describe' => $e->describe() );
		}
		try {
			( new Cartbridge_Api_Client( $input['bridgeUrl'], 'sk_test_wrongwrongwrongwrong' ) )->get_checkout_session( $first['id'] );
			$out['authError'] = null;
		} catch ( Cartbridge_Api_Exception $e ) {
			$out['authError'] = array( 'code' => $e->error_code, 'status' => $e->http_status );
		}
		try {
			( new Cartbridge_Api_Client( $input['deadUrl'], $input['key'], 3 ) )->get_checkout_session( $first['id'] );
			$out['downError'] = null;
		} catch ( Cartbridge_Api_Exception $e ) {
			$out['downError'] = array( 'code' => $e->error_code, 'status' => $e->http_status );
		}
		$GLOBALS['cb_out'] = $out;
		break;

	case 'payload':
		$order = cb_order( $input['order'] );
		$GLOBALS['cb_out'] = Cartbridge_Order_Payload::build( $order, 'https://shop.example/ok', 'https://shop.example/cancel' );
		break;

	case 'process_payment':
		$order   = cb_order( $input['order'] );
		$results = array();
		foreach ( $input['steps'] as $step ) {
			if ( isset( $step['orderChanges'] ) ) {
				$order->data = array_merge( $order->data, $step['orderChanges'] );
			}
			if ( isset( $step['settings'] ) ) {
				cb_settings( $step['settings'] );
			}
			$gateway   = new Cartbridge_Gateway();
			$checkout  = isset( $step['checkout'] ) ? $step['checkout'] : 'classic';
			$results[] = array(
				'result'    => 'blocks' === $checkout ? cb_store_api_checkout( $gateway, $order->get_id() ) : cb_classic_checkout( $gateway, $order->get_id() ),
				'available' => $gateway->is_available(),
			);
		}
		$GLOBALS['cb_out'] = $results;
		break;

	case 'thankyou':
		$order = cb_order( $input['order'] );
		ob_start();
		do_action( 'woocommerce_thankyou_cartbridge', $order->get_id() );
		$GLOBALS['cb_out'] = array(
			'html'   => ob_get_clean(),
			'status' => $order->get_status(),
		);
		break;

	case 'meta_box':
		$order = cb_order( $input['order'] );
		ob_start();
		Cartbridge_Plugin::render_meta_box( $order );
		$html = ob_get_clean();
		ob_start();
		Cartbridge_Plugin::render_meta_box( new WP_Post( $order->get_id() ) );
		$GLOBALS['cb_out'] = array( 'html' => $html, 'legacyHtml' => ob_get_clean() );
		break;

	case 'connect':
		$_REQUEST['_wpnonce'] = isset( $input['nonce'] ) ? $input['nonce'] : 'nonce-cartbridge_connect';
		$GLOBALS['cb_test']['home_url'] = $input['homeUrl'];
		try {
			Cartbridge_Plugin::handle_connect();
		} catch ( Cartbridge_Test_Exit $e ) {
			$GLOBALS['cb_out'] = array( 'exit' => $e->getMessage() );
		}
		break;

	case 'settings_connect_row':
		if ( isset( $input['get'] ) ) {
			$_GET = $input['get'];
		}
		if ( isset( $input['holdStockMinutes'] ) ) {
			update_option( 'woocommerce_hold_stock_minutes', (string) $input['holdStockMinutes'] );
		}
		$renders = array();
		foreach ( isset( $input['renders'] ) ? $input['renders'] : array( array() ) as $render ) {
			if ( ! empty( $render['save'] ) ) {
				$_POST = $render['save'];
				( new Cartbridge_Gateway() )->process_admin_options();
			}
			$gateway   = new Cartbridge_Gateway();
			$renders[] = $gateway->generate_cartbridge_connect_html( 'connection', $gateway->form_fields['connection'] );
		}
		$GLOBALS['cb_out'] = array( 'html' => $renders[0], 'renders' => $renders );
		break;

	case 'meta_box_hook':
		$registered = array();
		foreach ( $input['orders'] as $data ) {
			$GLOBALS['cb_test']['meta_boxes'] = array();
			$order = cb_order( $data );
			do_action( 'add_meta_boxes', 'woocommerce_page_wc-orders', $order );
			$hpos = ! empty( $GLOBALS['cb_test']['meta_boxes']['cartbridge-payment'] );
			$GLOBALS['cb_test']['meta_boxes'] = array();
			do_action( 'add_meta_boxes', 'shop_order', new WP_Post( $order->get_id() ) );
			$registered[] = array( 'hpos' => $hpos, 'legacy' => ! empty( $GLOBALS['cb_test']['meta_boxes']['cartbridge-payment'] ) );
		}
		$GLOBALS['cb_out'] = $registered;
		break;

	case 'admin_save':
		$_POST   = $input['post'];
		$gateway = new Cartbridge_Gateway();
		$gateway->process_admin_options();
		break;

	case 'uninstall':
		define( 'WP_UNINSTALL_PLUGIN', 'cartbridge-for-woocommerce/cartbridge-for-woocommerce.php' );
		update_option( 'unrelated_option', 'keep' );
		require $plugin_dir . '/uninstall.php';
		break;

	default:
		fwrite( STDERR, 'unknown scenario' );
		exit( 2 );
}
