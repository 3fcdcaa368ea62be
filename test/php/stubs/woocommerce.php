<?php
/**
 * Minimal stand-ins for the WooCommerce classes and functions the plugin calls, following WooCommerce's
 * documented behaviour: the Settings API (`woocommerce_{id}_settings`, defaults from form fields),
 * `get_return_url()` = the order-received URL with its key, `is_paid()` / `needs_payment()` by status,
 * notices, the logger, `wc_format_decimal()` rounding.
 */

namespace Automattic\WooCommerce\Utilities {
	class FeaturesUtil {
		public static $declared = array();
		public static function declare_compatibility( $feature, $file, $positive = true ) {
			self::$declared[] = array( 'feature' => $feature, 'file' => basename( $file ), 'positive' => $positive );
			return true;
		}
	}
}

namespace Automattic\WooCommerce\Blocks\Payments\Integrations {
	abstract class AbstractPaymentMethodType {
		protected $name = '';
		protected $settings = array();
		abstract public function initialize();
		public function get_name() {
			return $this->name;
		}
		public function is_active() {
			return true;
		}
		public function get_payment_method_script_handles() {
			return array();
		}
		public function get_payment_method_data() {
			return array();
		}
		protected function get_setting( $name, $default = '' ) {
			return isset( $this->settings[ $name ] ) ? $this->settings[ $name ] : $default;
		}
	}
}

namespace {

	class WC_Logger {
		public function log( $level, $message, $context = array() ) {
			$GLOBALS['cb_test']['logs'][] = array( 'level' => $level, 'message' => $message, 'source' => isset( $context['source'] ) ? $context['source'] : '' );
		}
	}
	function wc_get_logger() {
		return new WC_Logger();
	}

	function wc_add_notice( $message, $type = 'success' ) {
		$GLOBALS['cb_test']['notices'][] = array( 'type' => $type, 'message' => $message );
	}
	function wc_notice_count( $type = '' ) {
		$count = 0;
		foreach ( $GLOBALS['cb_test']['notices'] as $notice ) {
			$count += ( '' === $type || $type === $notice['type'] ) ? 1 : 0;
		}
		return $count;
	}
	function wc_clear_notices() {
		$GLOBALS['cb_test']['notices'] = array();
	}

	/**
	 * Classic checkout, as WC_Checkout::process_checkout() runs the gateway: an exception's message
	 * becomes an error notice; a returned array is the result.
	 */
	function cb_classic_checkout( $gateway, $order_id ) {
		try {
			return $gateway->process_payment( $order_id );
		} catch ( Exception $e ) {
			wc_add_notice( $e->getMessage(), 'error' );
			return array( 'result' => 'failure' );
		}
	}

	/**
	 * Checkout block, as the Store API runs a gateway without its own Blocks payment processing:
	 * StoreApi\Legacy::process_legacy_payment() (validate_fields, notices to exceptions, process_payment,
	 * then wc_clear_notices()) inside CheckoutTrait::process_payment(), which turns any exception into a
	 * 400 `woocommerce_rest_checkout_process_payment_error` carrying the exception's message. Notices
	 * added by process_payment() are cleared and never reach the buyer.
	 */
	function cb_store_api_checkout( $gateway, $order_id ) {
		try {
			$gateway->validate_fields();
			foreach ( $GLOBALS['cb_test']['notices'] as $notice ) {
				if ( 'error' === $notice['type'] ) {
					wc_clear_notices();
					throw new Exception( $notice['message'] );
				}
			}
			$gateway_result = $gateway->process_payment( $order_id );
			wc_clear_notices();
			return array(
				'status'   => isset( $gateway_result['result'] ) && 'success' === $gateway_result['result'] ? 'success' : 'failure',
				'redirect' => isset( $gateway_result['redirect'] ) ? $gateway_result['redirect'] : '',
			);
		} catch ( Exception $e ) {
			return array(
				'error' => array(
					'code'    => 'woocommerce_rest_checkout_process_payment_error',
					'message' => $e->getMessage(),
					'status'  => 400,
				),
			);
		}
	}
	function wc_get_price_decimals() {
		return isset( $GLOBALS['cb_test']['decimals'] ) ? $GLOBALS['cb_test']['decimals'] : 2;
	}
	/** With $dp given: number_format( floatval(), $dp ), as WooCommerce does. */
	function wc_format_decimal( $number, $dp = false, $trim_zeros = false ) {
		$number = (string) $number;
		if ( false !== $dp ) {
			$number = number_format( floatval( $number ), (int) $dp, '.', '' );
		}
		return $number;
	}
	function wc_get_page_screen_id( $for ) {
		return 'woocommerce_page_wc-orders';
	}

	$GLOBALS['cb_test']['orders'] = array();
	function wc_get_order( $id ) {
		if ( $id instanceof WC_Order ) {
			return $id;
		}
		return isset( $GLOBALS['cb_test']['orders'][ $id ] ) ? $GLOBALS['cb_test']['orders'][ $id ] : false;
	}

	class WC_Admin_Settings {
		public static function add_error( $text ) {
			$GLOBALS['cb_test']['admin_messages'][] = array( 'type' => 'error', 'text' => $text );
		}
		public static function add_message( $text ) {
			$GLOBALS['cb_test']['admin_messages'][] = array( 'type' => 'message', 'text' => $text );
		}
	}

	class WC_Order_Item_Stub {
		private $data;
		public function __construct( array $data ) {
			$this->data = $data;
		}
		public function get_name() {
			return $this->data['name'];
		}
		public function get_quantity() {
			return isset( $this->data['quantity'] ) ? $this->data['quantity'] : 1;
		}
		public function get_subtotal() {
			return $this->data['subtotal'];
		}
		public function get_total() {
			return isset( $this->data['total'] ) ? $this->data['total'] : $this->data['subtotal'];
		}
	}

	class WC_Order {
		public $data;
		public $meta = array();
		public $notes = array();
		public $saves = 0;
		public function __construct( array $data ) {
			$this->data = array_merge(
				array(
					'id'             => 1,
					'number'         => null,
					'order_key'      => 'wc_order_test',
					'status'         => 'pending',
					'currency'       => 'USD',
					'total'          => '0.00',
					'shipping_total' => '0.00',
					'total_tax'      => '0.00',
					'discount_total' => '0.00',
					'billing_email'  => 'buyer@example.com',
					'payment_method' => 'cartbridge',
					'items'          => array(),
					'fees'           => array(),
				),
				$data
			);
			$GLOBALS['cb_test']['orders'][ $this->data['id'] ] = $this;
		}
		public function get_id() {
			return $this->data['id'];
		}
		public function get_order_number() {
			return null === $this->data['number'] ? (string) $this->data['id'] : $this->data['number'];
		}
		public function get_order_key() {
			return $this->data['order_key'];
		}
		public function get_status() {
			return $this->data['status'];
		}
		public function get_currency() {
			return $this->data['currency'];
		}
		public function get_total() {
			return $this->data['total'];
		}
		public function get_shipping_total() {
			return $this->data['shipping_total'];
		}
		public function get_total_tax() {
			return $this->data['total_tax'];
		}
		public function get_discount_total() {
			return $this->data['discount_total'];
		}
		public function get_billing_email() {
			return $this->data['billing_email'];
		}
		public function get_payment_method() {
			return $this->data['payment_method'];
		}
		public function get_items( $type = 'line_item' ) {
			return array_map( function ( $i ) { return new WC_Order_Item_Stub( $i ); }, $this->data['items'] );
		}
		public function get_fees() {
			return array_map( function ( $i ) { return new WC_Order_Item_Stub( $i ); }, $this->data['fees'] );
		}
		public function get_meta( $key, $single = true ) {
			return isset( $this->meta[ $key ] ) ? $this->meta[ $key ] : '';
		}
		public function update_meta_data( $key, $value ) {
			$this->meta[ $key ] = $value;
		}
		public function save() {
			$this->saves++;
			return $this->get_id();
		}
		public function add_order_note( $note, $is_customer_note = 0 ) {
			$this->notes[] = $note;
			return count( $this->notes );
		}
		/** Status in woocommerce_order_is_paid_statuses (processing, completed). */
		public function is_paid() {
			return in_array( $this->data['status'], array( 'processing', 'completed' ), true );
		}
		/** Status in valid-for-payment statuses (pending, failed) and total > 0. */
		public function needs_payment() {
			return in_array( $this->data['status'], array( 'pending', 'failed' ), true ) && $this->data['total'] > 0;
		}
		public function get_checkout_order_received_url() {
			return home_url( 'checkout/order-received/' . $this->get_id() . '/' ) . '?key=' . $this->get_order_key();
		}
		public function get_cancel_order_url_raw( $redirect = '' ) {
			return home_url( 'cart/' ) . '?cancel_order=true&order=' . $this->get_order_key() . '&order_id=' . $this->get_id() . '&_wpnonce=abc';
		}
		public function get_checkout_payment_url() {
			return home_url( 'checkout/order-pay/' . $this->get_id() . '/' ) . '?pay_for_order=true&key=' . $this->get_order_key();
		}
	}

	/** The Settings API part of WC_Payment_Gateway that the plugin relies on. */
	abstract class WC_Payment_Gateway {
		public $id;
		public $title;
		public $description;
		public $method_title;
		public $method_description;
		public $has_fields;
		public $supports = array( 'products' );
		public $form_fields = array();
		public $settings = array();
		public $enabled = 'no';
		public $plugin_id = 'woocommerce_';

		public function get_option_key() {
			return $this->plugin_id . $this->id . '_settings';
		}
		public function init_settings() {
			$saved = get_option( $this->get_option_key(), null );
			$defaults = array();
			foreach ( $this->form_fields as $key => $field ) {
				$defaults[ $key ] = isset( $field['default'] ) ? $field['default'] : '';
			}
			$this->settings = is_array( $saved ) ? array_merge( $defaults, $saved ) : $defaults;
			$this->enabled  = ! empty( $this->settings['enabled'] ) && 'yes' === $this->settings['enabled'] ? 'yes' : 'no';
		}
		public function get_option( $key, $empty_value = null ) {
			if ( empty( $this->settings ) ) {
				$this->init_settings();
			}
			if ( ! isset( $this->settings[ $key ] ) ) {
				return null === $empty_value ? '' : $empty_value;
			}
			if ( '' === $this->settings[ $key ] && null !== $empty_value ) {
				return $empty_value;
			}
			return $this->settings[ $key ];
		}
		/**
		 * Reads woocommerce_{id}_{key} from $_POST, as the Settings API does: a validate_{key}_field()
		 * method handles its field; when it throws, the message becomes a settings error and the
		 * previous value is kept.
		 */
		public function process_admin_options() {
			$this->init_settings();
			foreach ( $this->form_fields as $key => $field ) {
				$post_key = $this->plugin_id . $this->id . '_' . $key;
				$value    = isset( $_POST[ $post_key ] ) ? $_POST[ $post_key ] : null;
				try {
					if ( is_callable( array( $this, 'validate_' . $key . '_field' ) ) ) {
						$this->settings[ $key ] = $this->{'validate_' . $key . '_field'}( $key, $value );
					} elseif ( isset( $field['type'] ) && 'checkbox' === $field['type'] ) {
						$this->settings[ $key ] = null !== $value ? 'yes' : 'no';
					} elseif ( null !== $value ) {
						$this->settings[ $key ] = trim( (string) $value );
					}
				} catch ( Exception $e ) {
					$this->add_error( $e->getMessage() );
				}
			}
			return update_option( $this->get_option_key(), $this->settings, 'yes' );
		}
		public function add_error( $error ) {
			$GLOBALS['cb_test']['settings_errors'][] = $error;
		}
		public function is_available() {
			return 'yes' === $this->enabled;
		}
		public function validate_fields() {
			return true;
		}
		public function supports( $feature ) {
			return in_array( $feature, $this->supports, true );
		}
		public function get_return_url( $order = null ) {
			return $order ? $order->get_checkout_order_received_url() : home_url( 'checkout/order-received/' );
		}
	}
}
