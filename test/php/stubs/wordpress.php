<?php
/**
 * Minimal stand-ins for the WordPress functions the plugin calls, written to WordPress' documented
 * behaviour (hooks, options, escaping, the HTTP API's response array). HTTP is real (cURL), so the
 * plugin's client talks to a live bridge.
 */

define( 'ABSPATH', __DIR__ . '/' );

$GLOBALS['cb_test'] = array(
	'actions'   => array(),
	'filters'   => array(),
	'options'   => array(),
	'notices'   => array(),
	'logs'      => array(),
	'redirects' => array(),
	'http'      => array(),
	'scripts'   => array(),
	'caps'      => array( 'manage_woocommerce' => true ),
	'home_url'  => 'https://shop.example',
);

class WP_Error {
	private $code;
	private $message;
	public function __construct( $code = '', $message = '' ) {
		$this->code    = $code;
		$this->message = $message;
	}
	public function get_error_message() {
		return $this->message;
	}
	public function get_error_code() {
		return $this->code;
	}
}

class WP_Post {
	public $ID;
	public function __construct( $id ) {
		$this->ID = $id;
	}
}

class Cartbridge_Test_Exit extends Exception {}

function is_wp_error( $thing ) {
	return $thing instanceof WP_Error;
}

function add_action( $hook, $callback, $priority = 10, $args = 1 ) {
	$GLOBALS['cb_test']['actions'][ $hook ][] = $callback;
	return true;
}
function add_filter( $hook, $callback, $priority = 10, $args = 1 ) {
	$GLOBALS['cb_test']['filters'][ $hook ][] = $callback;
	return true;
}
function do_action( $hook, ...$args ) {
	foreach ( isset( $GLOBALS['cb_test']['actions'][ $hook ] ) ? $GLOBALS['cb_test']['actions'][ $hook ] : array() as $cb ) {
		call_user_func_array( $cb, $args );
	}
}
function apply_filters( $hook, $value, ...$args ) {
	foreach ( isset( $GLOBALS['cb_test']['filters'][ $hook ] ) ? $GLOBALS['cb_test']['filters'][ $hook ] : array() as $cb ) {
		$value = call_user_func_array( $cb, array_merge( array( $value ), $args ) );
	}
	return $value;
}

function get_option( $name, $default = false ) {
	return array_key_exists( $name, $GLOBALS['cb_test']['options'] ) ? $GLOBALS['cb_test']['options'][ $name ] : $default;
}
function update_option( $name, $value, $autoload = null ) {
	$GLOBALS['cb_test']['options'][ $name ] = $value;
	return true;
}
function delete_option( $name ) {
	$existed = array_key_exists( $name, $GLOBALS['cb_test']['options'] );
	unset( $GLOBALS['cb_test']['options'][ $name ] );
	return $existed;
}

define( 'MINUTE_IN_SECONDS', 60 );
/** Transients as WordPress keeps them without an object cache: two options, the value and its expiry. */
function get_transient( $name ) {
	$timeout = get_option( '_transient_timeout_' . $name, 0 );
	if ( $timeout && $timeout < time() ) {
		delete_transient( $name );
		return false;
	}
	return get_option( '_transient_' . $name, false );
}
function set_transient( $name, $value, $expiration = 0 ) {
	update_option( '_transient_' . $name, $value );
	if ( $expiration ) {
		update_option( '_transient_timeout_' . $name, time() + (int) $expiration );
	}
	return true;
}
function delete_transient( $name ) {
	delete_option( '_transient_timeout_' . $name );
	return delete_option( '_transient_' . $name );
}
function wp_parse_url( $url, $component = -1 ) {
	return parse_url( $url, $component );
}

function __( $text, $domain = 'default' ) {
	return $text;
}
function esc_html__( $text, $domain = 'default' ) {
	return esc_html( $text );
}
function esc_html_e( $text, $domain = 'default' ) {
	echo esc_html( $text );
}
function esc_attr__( $text, $domain = 'default' ) {
	return esc_attr( $text );
}
function esc_html( $text ) {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' );
}
function esc_attr( $text ) {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' );
}
function esc_url( $url ) {
	$url = (string) $url;
	if ( ! preg_match( '#^(https?:)?//#i', $url ) && 0 !== strpos( $url, '/' ) ) {
		return '';
	}
	return htmlspecialchars( $url, ENT_QUOTES, 'UTF-8' );
}
function sanitize_key( $key ) {
	return preg_replace( '/[^a-z0-9_\-]/', '', strtolower( (string) $key ) );
}
function wp_unslash( $value ) {
	return is_string( $value ) ? stripslashes( $value ) : $value;
}
function wp_strip_all_tags( $text ) {
	return trim( strip_tags( (string) $text ) );
}
function is_email( $email ) {
	return false !== filter_var( $email, FILTER_VALIDATE_EMAIL ) ? $email : false;
}
function wp_json_encode( $data, $options = 0 ) {
	return json_encode( $data, $options );
}
function home_url( $path = '' ) {
	return rtrim( $GLOBALS['cb_test']['home_url'], '/' ) . '/' . ltrim( $path, '/' );
}
function untrailingslashit( $value ) {
	return rtrim( $value, '/\\' );
}
function admin_url( $path = '' ) {
	return rtrim( $GLOBALS['cb_test']['home_url'], '/' ) . '/wp-admin/' . ltrim( $path, '/' );
}
function plugins_url( $path = '', $plugin = '' ) {
	return rtrim( $GLOBALS['cb_test']['home_url'], '/' ) . '/wp-content/plugins/cartbridge-for-woocommerce/' . ltrim( $path, '/' );
}
function plugin_basename( $file ) {
	return basename( dirname( $file ) ) . '/' . basename( $file );
}
function load_plugin_textdomain( $domain, $deprecated = false, $path = false ) {
	return true;
}
function add_query_arg( $key, $value, $url ) {
	return $url . ( false === strpos( $url, '?' ) ? '?' : '&' ) . rawurlencode( $key ) . '=' . rawurlencode( $value );
}
function wp_nonce_url( $url, $action = -1 ) {
	return add_query_arg( '_wpnonce', 'nonce-' . $action, $url );
}
function check_admin_referer( $action = -1 ) {
	if ( ! isset( $_REQUEST['_wpnonce'] ) || 'nonce-' . $action !== $_REQUEST['_wpnonce'] ) {
		throw new Cartbridge_Test_Exit( 'check_admin_referer failed' );
	}
	return 1;
}
function current_user_can( $cap ) {
	return ! empty( $GLOBALS['cb_test']['caps'][ $cap ] );
}
function wp_die( $message = '', $title = '', $args = array() ) {
	throw new Cartbridge_Test_Exit( 'wp_die: ' . $message );
}
function wp_safe_redirect( $location, $status = 302 ) {
	$host = parse_url( $location, PHP_URL_HOST );
	if ( $host && parse_url( $GLOBALS['cb_test']['home_url'], PHP_URL_HOST ) !== $host ) {
		$location = admin_url();
	}
	$GLOBALS['cb_test']['redirects'][] = $location;
	return true;
}
function wp_register_script( $handle, $src, $deps = array(), $ver = false, $in_footer = false ) {
	$GLOBALS['cb_test']['scripts'][ $handle ] = array( 'src' => $src, 'deps' => $deps );
	return true;
}
function wp_set_script_translations( $handle, $domain, $path = '' ) {
	return true;
}
function add_meta_box( $id, $title, $callback, $screen = null, $context = 'advanced', $priority = 'default' ) {
	$GLOBALS['cb_test']['meta_boxes'][ $id ] = array( 'screen' => $screen, 'callback' => $callback );
}

/** The WordPress HTTP API's response array, made with cURL. */
function wp_remote_request( $url, $args = array() ) {
	$ch      = curl_init( $url );
	$headers = array();
	foreach ( isset( $args['headers'] ) ? $args['headers'] : array() as $name => $value ) {
		$headers[] = $name . ': ' . $value;
	}
	curl_setopt_array(
		$ch,
		array(
			CURLOPT_CUSTOMREQUEST  => isset( $args['method'] ) ? $args['method'] : 'GET',
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_HTTPHEADER     => $headers,
			CURLOPT_TIMEOUT        => isset( $args['timeout'] ) ? (int) $args['timeout'] : 5,
			CURLOPT_FOLLOWLOCATION => false,
		)
	);
	if ( isset( $args['body'] ) ) {
		curl_setopt( $ch, CURLOPT_POSTFIELDS, $args['body'] );
	}
	$body = curl_exec( $ch );
	$GLOBALS['cb_test']['http'][] = array(
		'method'  => isset( $args['method'] ) ? $args['method'] : 'GET',
		'url'     => $url,
		'headers' => isset( $args['headers'] ) ? $args['headers'] : array(),
		'body'    => isset( $args['body'] ) ? json_decode( $args['body'], true ) : null,
	);
	if ( false === $body ) {
		$error = curl_error( $ch );
		curl_close( $ch );
		return new WP_Error( 'http_request_failed', 'cURL error: ' . $error );
	}
	$code = curl_getinfo( $ch, CURLINFO_RESPONSE_CODE );
	curl_close( $ch );
	return array(
		'headers'  => array(),
		'body'     => $body,
		'response' => array( 'code' => $code, 'message' => '' ),
	);
}
function wp_remote_retrieve_response_code( $response ) {
	return is_array( $response ) && isset( $response['response']['code'] ) ? $response['response']['code'] : '';
}
function wp_remote_retrieve_body( $response ) {
	return is_array( $response ) && isset( $response['body'] ) ? $response['body'] : '';
}
