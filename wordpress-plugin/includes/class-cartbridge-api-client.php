<?php
/**
 * The bridge's store API, spoken through the WordPress HTTP API.
 *
 * @package Cartbridge
 */

defined( 'ABSPATH' ) || exit;

/**
 * A failed bridge call: transport error (no HTTP status) or the bridge's error envelope
 * `{error:{type,code,message,fields?,requestId}}`.
 */
class Cartbridge_Api_Exception extends Exception {

	/**
	 * The bridge's error code (amount_mismatch, unauthenticated, …) or "transport_error".
	 *
	 * @var string
	 */
	public $error_code;

	/**
	 * HTTP status, 0 when the bridge was not reached.
	 *
	 * @var int
	 */
	public $http_status;

	/**
	 * The bridge's Request-Id, for support.
	 *
	 * @var string
	 */
	public $request_id;

	/**
	 * Field errors, each `{path, message}`.
	 *
	 * @var array
	 */
	public $fields;

	/**
	 * Constructor.
	 *
	 * @param string $message     Message.
	 * @param string $error_code  Bridge error code.
	 * @param int    $http_status HTTP status.
	 * @param string $request_id  Request id.
	 * @param array  $fields      Field errors.
	 */
	public function __construct( $message, $error_code, $http_status = 0, $request_id = '', $fields = array() ) {
		parent::__construct( $message );
		$this->error_code  = $error_code;
		$this->http_status = (int) $http_status;
		$this->request_id  = (string) $request_id;
		$this->fields      = is_array( $fields ) ? $fields : array();
	}

	/**
	 * One line for the log.
	 *
	 * @return string
	 */
	public function describe() {
		$fields = array();
		foreach ( $this->fields as $field ) {
			if ( is_array( $field ) && isset( $field['path'], $field['message'] ) ) {
				$fields[] = $field['path'] . ': ' . $field['message'];
			}
		}
		return sprintf(
			'%s (%s, HTTP %d%s)%s',
			$this->getMessage(),
			$this->error_code,
			$this->http_status,
			'' !== $this->request_id ? ', request ' . $this->request_id : '',
			$fields ? ' — ' . implode( '; ', $fields ) : ''
		);
	}
}

/**
 * Client for `POST/GET /v1/checkout_sessions` and the WooCommerce connect endpoints.
 */
class Cartbridge_Api_Client {

	/**
	 * Bridge base URL without trailing slash.
	 *
	 * @var string
	 */
	private $base_url;

	/**
	 * Store secret key (sk_test_… / sk_live_…).
	 *
	 * @var string
	 */
	private $secret_key;

	/**
	 * Seconds.
	 *
	 * @var int
	 */
	private $timeout;

	/**
	 * Constructor.
	 *
	 * @param string $base_url   Bridge URL, e.g. https://pay.example.com.
	 * @param string $secret_key Store secret key.
	 * @param int    $timeout    Request timeout in seconds.
	 */
	public function __construct( $base_url, $secret_key, $timeout = 20 ) {
		$this->base_url   = rtrim( (string) $base_url, '/' );
		$this->secret_key = (string) $secret_key;
		$this->timeout    = (int) $timeout;
	}

	/**
	 * Creates a checkout session. The same key with the same body replays the first answer.
	 *
	 * @param array  $payload         Body (see the bridge's createCheckoutSessionSchema).
	 * @param string $idempotency_key Idempotency-Key header.
	 * @return array The checkout session.
	 * @throws Cartbridge_Api_Exception On any failure.
	 */
	public function create_checkout_session( array $payload, $idempotency_key ) {
		return $this->request( 'POST', '/v1/checkout_sessions', $payload, array( 'Idempotency-Key' => $idempotency_key ) );
	}

	/**
	 * Reads a checkout session (its real status, never the buyer's word).
	 *
	 * @param string $session_id Session id (cs_…).
	 * @return array
	 * @throws Cartbridge_Api_Exception On any failure.
	 */
	public function get_checkout_session( $session_id ) {
		return $this->request( 'GET', '/v1/checkout_sessions/' . rawurlencode( $session_id ) );
	}

	/**
	 * Asks the bridge for the WooCommerce app-authorization URL (wc-auth) of this shop.
	 *
	 * @param string $store_url  home_url().
	 * @param string $return_url Where the admin lands afterwards.
	 * @return array `{authorizeUrl, expiresAt}`.
	 * @throws Cartbridge_Api_Exception On any failure.
	 */
	public function start_connect( $store_url, $return_url ) {
		return $this->request(
			'POST',
			'/woocommerce/connect',
			array(
				'storeUrl'  => $store_url,
				'returnUrl' => $return_url,
			)
		);
	}

	/**
	 * Hands pasted REST keys to the bridge (they are not kept in WordPress).
	 *
	 * @param string $store_url       home_url().
	 * @param string $consumer_key    ck_….
	 * @param string $consumer_secret cs_….
	 * @return array
	 * @throws Cartbridge_Api_Exception On any failure.
	 */
	public function push_credentials( $store_url, $consumer_key, $consumer_secret ) {
		return $this->request(
			'POST',
			'/woocommerce/credentials',
			array(
				'storeUrl'       => $store_url,
				'consumerKey'    => $consumer_key,
				'consumerSecret' => $consumer_secret,
			)
		);
	}

	/**
	 * Whether the bridge holds REST keys for this shop.
	 *
	 * @return array `{connected, url, connectedVia}`.
	 * @throws Cartbridge_Api_Exception On any failure.
	 */
	public function connection_status() {
		return $this->request( 'GET', '/woocommerce/status' );
	}

	/**
	 * One call.
	 *
	 * @param string     $method  HTTP method.
	 * @param string     $path    Path below the base URL.
	 * @param array|null $body    JSON body.
	 * @param array      $headers Extra headers.
	 * @return array Decoded JSON.
	 * @throws Cartbridge_Api_Exception On any failure.
	 */
	private function request( $method, $path, $body = null, array $headers = array() ) {
		if ( '' === $this->base_url || '' === $this->secret_key ) {
			throw new Cartbridge_Api_Exception( 'The bridge URL or the secret key is not configured.', 'not_configured' );
		}
		$args = array(
			'method'      => $method,
			'timeout'     => $this->timeout,
			'redirection' => 0,
			'headers'     => array_merge(
				array(
					'Authorization' => 'Bearer ' . $this->secret_key,
					'Accept'        => 'application/json',
					'User-Agent'    => 'Cartbridge-WooCommerce/' . ( defined( 'CARTBRIDGE_VERSION' ) ? CARTBRIDGE_VERSION : 'dev' ),
				),
				$headers
			),
		);
		if ( null !== $body ) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body']                    = wp_json_encode( $body );
		}
		$response = wp_remote_request( $this->base_url . $path, $args );
		if ( is_wp_error( $response ) ) {
			throw new Cartbridge_Api_Exception( 'The bridge could not be reached: ' . $response->get_error_message(), 'transport_error' );
		}
		$status  = (int) wp_remote_retrieve_response_code( $response );
		$decoded = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( $status >= 200 && $status < 300 && is_array( $decoded ) ) {
			return $decoded;
		}
		if ( is_array( $decoded ) && isset( $decoded['error'] ) && is_array( $decoded['error'] ) ) {
			$error = $decoded['error'];
			throw new Cartbridge_Api_Exception(
				isset( $error['message'] ) ? (string) $error['message'] : 'The bridge refused the request.',
				isset( $error['code'] ) ? (string) $error['code'] : 'unknown',
				$status,
				isset( $error['requestId'] ) ? (string) $error['requestId'] : '',
				isset( $error['fields'] ) ? $error['fields'] : array()
			);
		}
		throw new Cartbridge_Api_Exception( 'The bridge answered with an unexpected response.', 'bad_response', $status );
	}
}
