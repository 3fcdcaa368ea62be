<?php
/**
 * The payment gateway.
 *
 * @package Cartbridge
 */

defined( 'ABSPATH' ) || exit;

/**
 * Redirects the buyer to the bridge's hosted crypto checkout. The order is marked paid by the bridge,
 * through the WooCommerce REST API, once the payment platform confirms it; never by the buyer's return.
 */
class Cartbridge_Gateway extends WC_Payment_Gateway {

	const META_SESSION_ID   = '_cartbridge_session_id';
	const META_CHECKOUT_URL = '_cartbridge_checkout_url';
	const META_PROVIDER     = '_cartbridge_provider';
	const META_AMOUNT       = '_cartbridge_amount';
	const META_LIVEMODE     = '_cartbridge_livemode';

	/** Session statuses in which the buyer can still pay the session they have. */
	const REUSABLE_STATUSES = array( 'open', 'processing' );

	/** Session statuses meaning the full amount arrived. */
	const PAID_STATUSES = array( 'paid', 'paid_late', 'overpaid' );

	/** Transient holding the settings screen's last bridge status answer. */
	const STATUS_TRANSIENT = 'cartbridge_bridge_status';

	/**
	 * Logger.
	 *
	 * @var WC_Logger_Interface|null
	 */
	private $logger;

	/**
	 * Constructor.
	 */
	public function __construct() {
		$this->id                 = Cartbridge_Plugin::GATEWAY_ID;
		$this->has_fields         = false;
		$this->method_title       = __( 'Crypto (Cartbridge)', 'cartbridge-for-woocommerce' );
		$this->method_description = __( 'Hosted crypto checkout through your Cartbridge bridge. Paid orders move to Processing automatically; the bridge receives the payment platform\'s webhooks, so none has to reach WordPress.', 'cartbridge-for-woocommerce' );
		$this->supports           = array( 'products' );

		$this->init_form_fields();
		$this->init_settings();

		$this->title       = $this->get_option( 'title' );
		$this->description = $this->get_option( 'description' );
		if ( $this->is_test_mode() ) {
			/* translators: %s: the description shown to buyers */
			$this->description = trim( sprintf( __( 'TEST MODE: no real payment is taken. %s', 'cartbridge-for-woocommerce' ), $this->description ) );
		}

		add_action( 'woocommerce_update_options_payment_gateways_' . $this->id, array( $this, 'process_admin_options' ) );
	}

	/**
	 * Settings.
	 */
	public function init_form_fields() {
		$this->form_fields = array(
			'enabled'         => array(
				'title'   => __( 'Enable/Disable', 'cartbridge-for-woocommerce' ),
				'type'    => 'checkbox',
				'label'   => __( 'Enable crypto payments through Cartbridge', 'cartbridge-for-woocommerce' ),
				'default' => 'no',
			),
			'title'           => array(
				'title'       => __( 'Title', 'cartbridge-for-woocommerce' ),
				'type'        => 'text',
				'description' => __( 'The payment method name buyers see at checkout.', 'cartbridge-for-woocommerce' ),
				'default'     => __( 'Pay with crypto', 'cartbridge-for-woocommerce' ),
				'desc_tip'    => true,
			),
			'description'     => array(
				'title'       => __( 'Description', 'cartbridge-for-woocommerce' ),
				'type'        => 'textarea',
				'description' => __( 'Shown to buyers under the payment method.', 'cartbridge-for-woocommerce' ),
				'default'     => __( 'You will be redirected to a secure page to pay with cryptocurrency.', 'cartbridge-for-woocommerce' ),
				'desc_tip'    => true,
			),
			'bridge_url'      => array(
				'title'       => __( 'Bridge URL', 'cartbridge-for-woocommerce' ),
				'type'        => 'text',
				'description' => __( 'The public address of your Cartbridge bridge, e.g. https://pay.example.com', 'cartbridge-for-woocommerce' ),
				'default'     => '',
			),
			'secret_key'      => array(
				'title'       => __( 'Live secret key', 'cartbridge-for-woocommerce' ),
				'type'        => 'password',
				'description' => __( 'The store\'s sk_live_… key, shown once when the store was created on the bridge.', 'cartbridge-for-woocommerce' ),
				'default'     => '',
			),
			'test_secret_key' => array(
				'title'       => __( 'Test secret key', 'cartbridge-for-woocommerce' ),
				'type'        => 'password',
				'description' => __( 'The store\'s sk_test_… key.', 'cartbridge-for-woocommerce' ),
				'default'     => '',
			),
			'testmode'        => array(
				'title'       => __( 'Test mode', 'cartbridge-for-woocommerce' ),
				'type'        => 'checkbox',
				'label'       => __( 'Use the test secret key (test-mode sessions; no real money moves)', 'cartbridge-for-woocommerce' ),
				'default'     => 'yes',
			),
			'provider'        => array(
				'title'       => __( 'Default provider', 'cartbridge-for-woocommerce' ),
				'type'        => 'text',
				'description' => __( 'Payment platform to use (e.g. sandbox, cryptocheckout). Leave empty for the store\'s default on the bridge.', 'cartbridge-for-woocommerce' ),
				'default'     => '',
				'desc_tip'    => true,
			),
			'connection'      => array(
				'title' => __( 'Order updates', 'cartbridge-for-woocommerce' ),
				'type'  => 'cartbridge_connect',
			),
			'consumer_key'    => array(
				'title'       => __( 'Or paste REST API keys: consumer key', 'cartbridge-for-woocommerce' ),
				'type'        => 'password',
				'description' => __( 'Optional. A Read/Write key from WooCommerce > Settings > Advanced > REST API. It is sent to the bridge and not kept in WordPress.', 'cartbridge-for-woocommerce' ),
				'default'     => '',
			),
			'consumer_secret' => array(
				'title'   => __( 'Consumer secret', 'cartbridge-for-woocommerce' ),
				'type'    => 'password',
				'default' => '',
			),
			'debug'           => array(
				'title'       => __( 'Debug log', 'cartbridge-for-woocommerce' ),
				'type'        => 'checkbox',
				'label'       => __( 'Log bridge calls (WooCommerce > Status > Logs, source "cartbridge")', 'cartbridge-for-woocommerce' ),
				'default'     => 'no',
			),
		);
	}

	/**
	 * The bridge URL must be https (the store secret key travels with every call); plain http only for
	 * localhost, where nothing leaves the machine. Called by the Settings API (validate_{key}_field); the
	 * exception becomes a settings error and the previous value is kept.
	 *
	 * @param string $key   Field key.
	 * @param string $value Posted value.
	 * @return string
	 * @throws Exception When the URL is not acceptable.
	 */
	public function validate_bridge_url_field( $key, $value ) {
		$url = untrailingslashit( trim( wp_unslash( (string) $value ) ) );
		if ( '' === $url ) {
			return '';
		}
		$parts  = wp_parse_url( $url );
		$scheme = isset( $parts['scheme'] ) ? strtolower( $parts['scheme'] ) : '';
		$host   = isset( $parts['host'] ) ? strtolower( trim( $parts['host'], '[]' ) ) : '';
		$local  = in_array( $host, array( 'localhost', '127.0.0.1', '::1' ), true );
		if ( '' === $host || ( 'https' !== $scheme && ! ( 'http' === $scheme && $local ) ) ) {
			throw new Exception( __( 'The bridge URL must start with https:// (plain http:// only for localhost), e.g. https://pay.example.com. The previous value was kept.', 'cartbridge-for-woocommerce' ) );
		}
		return $url;
	}

	/**
	 * Whether test mode is on.
	 *
	 * @return bool
	 */
	public function is_test_mode() {
		return 'yes' === $this->get_option( 'testmode', 'yes' );
	}

	/**
	 * The client for the bridge, with the key of the current mode.
	 *
	 * @param int $timeout Seconds.
	 * @return Cartbridge_Api_Client
	 */
	public function api_client( $timeout = 20 ) {
		$key = $this->is_test_mode() ? $this->get_option( 'test_secret_key' ) : $this->get_option( 'secret_key' );
		return new Cartbridge_Api_Client( (string) $this->get_option( 'bridge_url' ), (string) $key, $timeout );
	}

	/**
	 * Available only when configured.
	 *
	 * @return bool
	 */
	public function is_available() {
		if ( ! parent::is_available() ) {
			return false;
		}
		$key = $this->is_test_mode() ? $this->get_option( 'test_secret_key' ) : $this->get_option( 'secret_key' );
		return '' !== (string) $this->get_option( 'bridge_url' ) && '' !== (string) $key;
	}

	/**
	 * Logs errors always, everything else only with the debug log on.
	 *
	 * @param string $level   Level (error, warning, info, debug).
	 * @param string $message Message.
	 */
	public function log( $level, $message ) {
		if ( 'error' !== $level && 'yes' !== $this->get_option( 'debug', 'no' ) ) {
			return;
		}
		if ( null === $this->logger && function_exists( 'wc_get_logger' ) ) {
			$this->logger = wc_get_logger();
		}
		if ( $this->logger ) {
			$this->logger->log( $level, $message, array( 'source' => 'cartbridge' ) );
		}
	}

	/**
	 * Sends the order to the bridge and the buyer to the hosted checkout.
	 *
	 * Failures throw instead of adding a notice: the Checkout block's Store API calls wc_clear_notices()
	 * right after process_payment() and shows a generic error, so a notice would never reach the buyer.
	 * Both checkouts show an exception's message (classic: WC_Checkout adds it as a notice; blocks:
	 * the Store API returns it as the checkout error).
	 *
	 * @param int $order_id Order id.
	 * @return array
	 * @throws Exception With the message for the buyer, when the checkout cannot be started.
	 */
	public function process_payment( $order_id ) {
		$order = wc_get_order( $order_id );
		if ( ! $order ) {
			throw new Exception( __( 'We could not find your order. Please try again.', 'cartbridge-for-woocommerce' ) );
		}
		$client = $this->api_client();
		try {
			$payload = Cartbridge_Order_Payload::build(
				$order,
				$this->get_return_url( $order ),
				$order->get_cancel_order_url_raw(),
				(string) $this->get_option( 'provider', '' )
			);
			$session = $this->reusable_session( $client, $order, $payload );
			if ( $session ) {
				$this->log( 'info', sprintf( 'Order %s: reusing open session %s.', $order->get_id(), $session['id'] ) );
			} else {
				$previous = (string) $order->get_meta( self::META_SESSION_ID, true );
				$session  = $client->create_checkout_session( $payload, Cartbridge_Order_Payload::idempotency_key( $order, $payload, $previous ) );
				$this->log( 'info', sprintf( 'Order %s: created session %s (%s %s).', $order->get_id(), $session['id'], $session['amount'], $session['currency'] ) );
			}
		} catch ( Cartbridge_Api_Exception $e ) {
			$this->log( 'error', sprintf( 'Order %s: could not start the crypto checkout: %s', $order->get_id(), $e->describe() ) );
			throw new Exception( $this->buyer_message( $e ) );
		} catch ( Throwable $t ) {
			// Never a white screen at checkout: whatever broke, the buyer gets a message and the log the cause.
			$this->log( 'error', sprintf( 'Order %s: unexpected error starting the crypto checkout: %s', $order->get_id(), $t->getMessage() ) );
			throw new Exception( __( 'The crypto payment could not be started. Please try again or choose another payment method.', 'cartbridge-for-woocommerce' ) );
		}

		if ( empty( $session['id'] ) || empty( $session['checkoutUrl'] ) ) {
			$this->log( 'error', sprintf( 'Order %s: the bridge answered without a session id or checkout URL.', $order->get_id() ) );
			throw new Exception( __( 'The crypto payment could not be started. Please try again or choose another payment method.', 'cartbridge-for-woocommerce' ) );
		}

		if ( $order->get_meta( self::META_SESSION_ID, true ) !== $session['id'] ) {
			$order->update_meta_data( self::META_SESSION_ID, $session['id'] );
			$order->update_meta_data( self::META_CHECKOUT_URL, $session['checkoutUrl'] );
			$order->update_meta_data( self::META_PROVIDER, isset( $session['provider'] ) ? $session['provider'] : '' );
			$order->update_meta_data( self::META_AMOUNT, $session['amount'] . ' ' . $session['currency'] );
			$order->update_meta_data( self::META_LIVEMODE, ! empty( $session['livemode'] ) ? 'yes' : 'no' );
			$order->add_order_note(
				sprintf(
					/* translators: 1: session id, 2: amount, 3: currency */
					__( 'Cartbridge checkout session %1$s created for %2$s %3$s.', 'cartbridge-for-woocommerce' ),
					$session['id'],
					$session['amount'],
					$session['currency']
				)
			);
			$order->save();
		}

		return array(
			'result'   => 'success',
			'redirect' => $session['checkoutUrl'],
		);
	}

	/**
	 * The order's current session when the buyer can still pay it for this very amount.
	 *
	 * @param Cartbridge_Api_Client $client  Client.
	 * @param WC_Order              $order   Order.
	 * @param array                 $payload The body a new session would get.
	 * @return array|null
	 * @throws Cartbridge_Api_Exception When the bridge cannot be reached at all.
	 */
	private function reusable_session( $client, $order, array $payload ) {
		$session_id = (string) $order->get_meta( self::META_SESSION_ID, true );
		if ( '' === $session_id ) {
			return null;
		}
		try {
			$session = $client->get_checkout_session( $session_id );
		} catch ( Cartbridge_Api_Exception $e ) {
			if ( 'transport_error' === $e->error_code ) {
				throw $e;
			}
			// Gone, or from another mode/key: start a new one.
			$this->log( 'info', sprintf( 'Order %s: previous session %s not reusable: %s', $order->get_id(), $session_id, $e->describe() ) );
			return null;
		}
		$reusable = isset( $session['status'], $session['amount'], $session['currency'] )
			&& in_array( $session['status'], self::REUSABLE_STATUSES, true )
			&& $session['amount'] === $payload['amount']
			&& $session['currency'] === $payload['currency']
			&& ( ! isset( $session['expiresAt'] ) || strtotime( $session['expiresAt'] ) > time() + 60 );
		return $reusable ? $session : null;
	}

	/**
	 * A message a buyer can act on; details go to the log.
	 *
	 * @param Cartbridge_Api_Exception $e Error.
	 * @return string
	 */
	private function buyer_message( $e ) {
		if ( 'transport_error' === $e->error_code || $e->http_status >= 500 || 'rate_limited' === $e->error_code || 'idempotency_key_in_use' === $e->error_code ) {
			return __( 'The crypto payment service is temporarily unavailable. Please try again in a moment or choose another payment method.', 'cartbridge-for-woocommerce' );
		}
		return __( 'The crypto payment could not be started for this order. Please choose another payment method or contact us.', 'cartbridge-for-woocommerce' );
	}

	/**
	 * Thank-you page: the bridge's real status, asked server-side. The page never changes the order.
	 *
	 * @param int $order_id Order id.
	 */
	public function render_thankyou( $order_id ) {
		$order = wc_get_order( $order_id );
		if ( ! $order || $order->get_payment_method() !== $this->id ) {
			return;
		}
		$state = $this->payment_state( $order );
		switch ( $state ) {
			case 'confirmed':
				$text = __( 'Your crypto payment is confirmed. Thank you!', 'cartbridge-for-woocommerce' );
				break;
			case 'partial':
				$text = __( 'We received part of your payment; the order is on hold. We will contact you about the rest.', 'cartbridge-for-woocommerce' );
				break;
			case 'unpaid':
				$text = __( 'This payment session ended without a payment.', 'cartbridge-for-woocommerce' );
				break;
			default:
				$text = __( 'Your payment is waiting for confirmation on the blockchain. You will receive an email when it is confirmed; you can close this page.', 'cartbridge-for-woocommerce' );
		}
		echo '<section class="cartbridge-status" data-cartbridge-state="' . esc_attr( $state ) . '"><h2>' . esc_html__( 'Payment status', 'cartbridge-for-woocommerce' ) . '</h2><p>' . esc_html( $text ) . '</p>';
		if ( 'unpaid' === $state && $order->needs_payment() ) {
			echo '<p><a class="button" href="' . esc_url( $order->get_checkout_payment_url() ) . '">' . esc_html__( 'Pay again', 'cartbridge-for-woocommerce' ) . '</a></p>';
		}
		echo '</section>';
	}

	/**
	 * The order's payment state for the buyer: confirmed, waiting, partial or unpaid.
	 *
	 * @param WC_Order $order Order.
	 * @return string
	 */
	public function payment_state( $order ) {
		if ( $order->is_paid() ) {
			return 'confirmed';
		}
		$session_id = (string) $order->get_meta( self::META_SESSION_ID, true );
		if ( '' === $session_id ) {
			return 'waiting';
		}
		try {
			$session = $this->api_client( 8 )->get_checkout_session( $session_id );
		} catch ( Cartbridge_Api_Exception $e ) {
			$this->log( 'warning', sprintf( 'Order %s: status check failed: %s', $order->get_id(), $e->describe() ) );
			return 'waiting';
		}
		$status = isset( $session['status'] ) ? (string) $session['status'] : '';
		if ( in_array( $status, self::PAID_STATUSES, true ) ) {
			return 'confirmed';
		}
		if ( 'underpaid' === $status ) {
			return 'partial';
		}
		if ( in_array( $status, array( 'expired', 'failed', 'canceled' ), true ) ) {
			return 'unpaid';
		}
		return 'waiting';
	}

	/**
	 * Settings row with the "Connect to bridge" button and the connection state.
	 *
	 * @param string $key  Field key.
	 * @param array  $data Field definition.
	 * @return string
	 */
	public function generate_cartbridge_connect_html( $key, $data ) {
		$state = '';
		try {
			// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- display only: fresh status right after a connect round trip.
			$status = $this->connection_status_cached( isset( $_GET['cartbridge_connect'] ) );
			$state  = ! empty( $status['connected'] )
				/* translators: %s: shop URL */
				? sprintf( __( 'Connected: the bridge updates orders on %s.', 'cartbridge-for-woocommerce' ), isset( $status['url'] ) ? $status['url'] : '' )
				: __( 'Not connected yet: the bridge cannot update orders.', 'cartbridge-for-woocommerce' );
			if ( isset( $status['lastCheck']['ok'] ) && false === $status['lastCheck']['ok'] ) {
				$state .= ' ' . sprintf(
					/* translators: %s: what the shop answered */
					__( 'The last check of pasted keys failed: %s', 'cartbridge-for-woocommerce' ),
					isset( $status['lastCheck']['error'] ) ? (string) $status['lastCheck']['error'] : ''
				);
			}
		} catch ( Cartbridge_Api_Exception $e ) {
			$state = __( 'Save the bridge URL and secret key first.', 'cartbridge-for-woocommerce' );
			if ( 'not_configured' !== $e->error_code ) {
				/* translators: %s: error */
				$state = sprintf( __( 'The bridge could not be reached: %s', 'cartbridge-for-woocommerce' ), $e->getMessage() );
			}
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- display only: where the connect round trip ended.
		$outcome = isset( $_GET['cartbridge_connect'] ) ? sanitize_key( wp_unslash( $_GET['cartbridge_connect'] ) ) : '';
		$outcomes = array(
			'success'      => __( 'WooCommerce gave the bridge its REST API key.', 'cartbridge-for-woocommerce' ),
			'denied'       => __( 'The access request was denied on WooCommerce\'s authorization page.', 'cartbridge-for-woocommerce' ),
			'failed'       => __( 'The bridge did not receive a usable key (it needs Read/Write access). Please try again.', 'cartbridge-for-woocommerce' ),
			'bridge_error' => __( 'The bridge could not start the connection; see the log (source "cartbridge").', 'cartbridge-for-woocommerce' ),
		);
		$url        = wp_nonce_url( admin_url( 'admin-post.php?action=cartbridge_connect' ), 'cartbridge_connect' );
		$hold_stock = (int) get_option( 'woocommerce_hold_stock_minutes', 0 );
		ob_start();
		?>
		<tr valign="top">
			<th scope="row" class="titledesc"><?php echo esc_html( $data['title'] ); ?></th>
			<td class="forminp">
				<a class="button button-secondary" href="<?php echo esc_url( $url ); ?>"><?php esc_html_e( 'Connect to bridge', 'cartbridge-for-woocommerce' ); ?></a>
				<?php if ( isset( $outcomes[ $outcome ] ) ) : ?>
					<p class="cartbridge-connect-outcome cartbridge-connect-<?php echo esc_attr( $outcome ); ?>"><strong><?php echo esc_html( $outcomes[ $outcome ] ); ?></strong></p>
				<?php endif; ?>
				<p class="description"><?php echo esc_html( $state ); ?></p>
				<p class="description"><?php esc_html_e( 'Opens WooCommerce\'s own authorization page; approving it gives the bridge a Read/Write REST key, so it can mark orders paid without any webhook reaching WordPress.', 'cartbridge-for-woocommerce' ); ?></p>
				<?php if ( $hold_stock > 0 && $hold_stock < 60 ) : ?>
					<p class="description cartbridge-hold-stock-warning"><?php echo esc_html( sprintf( /* translators: %d: minutes */ __( '"Hold stock" is %d minutes, shorter than a crypto checkout session (60 minutes by default): WooCommerce will cancel orders that are still being paid. Cartbridge reopens and completes them when the payment arrives, but raising "Hold stock" above the session lifetime avoids the detour.', 'cartbridge-for-woocommerce' ), $hold_stock ) ); ?></p>
				<?php endif; ?>
			</td>
		</tr>
		<?php
		return (string) ob_get_clean();
	}

	/**
	 * The bridge's connection status for the settings screen, kept in a transient so that opening the
	 * payment settings does not wait for the bridge every time (5 minutes; 1 minute for a failure). The
	 * transient is bound to the bridge URL and key, and dropped when the settings are saved.
	 *
	 * @param bool $fresh Skip the cache.
	 * @return array
	 * @throws Cartbridge_Api_Exception When the bridge cannot answer.
	 */
	private function connection_status_cached( $fresh = false ) {
		$client      = $this->api_client( 5 );
		$fingerprint = md5( $this->get_option( 'bridge_url' ) . '|' . ( $this->is_test_mode() ? $this->get_option( 'test_secret_key' ) : $this->get_option( 'secret_key' ) ) );
		$cached      = $fresh ? false : get_transient( self::STATUS_TRANSIENT );
		if ( is_array( $cached ) && isset( $cached['fingerprint'] ) && $cached['fingerprint'] === $fingerprint ) {
			if ( isset( $cached['error'] ) ) {
				throw new Cartbridge_Api_Exception( $cached['error']['message'], $cached['error']['code'] );
			}
			return $cached['status'];
		}
		try {
			$status = $client->connection_status();
		} catch ( Cartbridge_Api_Exception $e ) {
			if ( 'not_configured' !== $e->error_code ) {
				set_transient(
					self::STATUS_TRANSIENT,
					array(
						'fingerprint' => $fingerprint,
						'error'       => array(
							'message' => $e->getMessage(),
							'code'    => $e->error_code,
						),
					),
					MINUTE_IN_SECONDS
				);
			}
			throw $e;
		}
		set_transient(
			self::STATUS_TRANSIENT,
			array(
				'fingerprint' => $fingerprint,
				'status'      => $status,
			),
			5 * MINUTE_IN_SECONDS
		);
		return $status;
	}

	/**
	 * Saves the settings; pasted REST keys are handed to the bridge and then blanked.
	 *
	 * @return bool
	 */
	public function process_admin_options() {
		$saved = parent::process_admin_options();
		delete_transient( self::STATUS_TRANSIENT );
		$key    = trim( (string) $this->get_option( 'consumer_key' ) );
		$secret = trim( (string) $this->get_option( 'consumer_secret' ) );
		if ( '' === $key && '' === $secret ) {
			return $saved;
		}
		try {
			$this->api_client()->push_credentials( home_url( '/' ), $key, $secret );
			$this->add_admin_message( 'message', __( 'The REST API keys were sent to the bridge.', 'cartbridge-for-woocommerce' ) );
		} catch ( Cartbridge_Api_Exception $e ) {
			$this->log( 'error', 'Sending REST keys to the bridge failed: ' . $e->describe() );
			/* translators: %s: error */
			$this->add_admin_message( 'error', sprintf( __( 'The bridge did not accept the REST API keys: %s', 'cartbridge-for-woocommerce' ), $e->getMessage() ) );
		}
		$this->settings['consumer_key']    = '';
		$this->settings['consumer_secret'] = '';
		update_option( $this->get_option_key(), apply_filters( 'woocommerce_settings_api_sanitized_fields_' . $this->id, $this->settings ), 'yes' );
		return $saved;
	}

	/**
	 * Settings-screen message.
	 *
	 * @param string $type    "message" or "error".
	 * @param string $message Text.
	 */
	private function add_admin_message( $type, $message ) {
		if ( class_exists( 'WC_Admin_Settings' ) ) {
			if ( 'error' === $type ) {
				WC_Admin_Settings::add_error( $message );
			} else {
				WC_Admin_Settings::add_message( $message );
			}
		}
	}
}
