<?php
/**
 * Turns a WooCommerce order into the bridge's checkout-session body.
 *
 * @package Cartbridge
 */

defined( 'ABSPATH' ) || exit;

/**
 * Builds `POST /v1/checkout_sessions` bodies whose parts add up to the order total exactly.
 *
 * The bridge checks items + shipping + tax − discount = amount to the cent. WooCommerce rounds per line
 * and per tax row, so the amounts are taken from line totals (never unit prices times quantity): a line
 * whose subtotal does not divide by its quantity is sent as one unit named "name × qty", and whatever
 * rounding remains between the parts and the order total is sent as a "Rounding adjustment" line (when
 * positive) or added to the discount (when negative). All arithmetic is on integer minor units.
 */
class Cartbridge_Order_Payload {

	/**
	 * Decimal string or number → integer minor units with `$decimals` places (rounded half up).
	 *
	 * @param mixed $value    Amount as WooCommerce returns it.
	 * @param int   $decimals Price decimals.
	 * @return int
	 */
	public static function to_minor( $value, $decimals ) {
		$text = wc_format_decimal( $value, $decimals );
		$text = '' === $text ? '0' : (string) $text;
		$sign = 1;
		if ( 0 === strpos( $text, '-' ) ) {
			$sign = -1;
			$text = substr( $text, 1 );
		}
		$parts    = explode( '.', $text, 2 );
		$whole    = '' === $parts[0] ? '0' : $parts[0];
		$fraction = isset( $parts[1] ) ? $parts[1] : '';
		$fraction = substr( str_pad( $fraction, $decimals, '0' ), 0, $decimals );
		return $sign * (int) ( $whole . $fraction );
	}

	/**
	 * Integer minor units → decimal string ("1050", 2 → "10.50").
	 *
	 * @param int $minor    Amount in minor units (≥ 0).
	 * @param int $decimals Price decimals.
	 * @return string
	 */
	public static function from_minor( $minor, $decimals ) {
		$minor = (int) $minor;
		if ( 0 === $decimals ) {
			return (string) $minor;
		}
		$digits = str_pad( (string) abs( $minor ), $decimals + 1, '0', STR_PAD_LEFT );
		return ( $minor < 0 ? '-' : '' ) . substr( $digits, 0, -$decimals ) . '.' . substr( $digits, -$decimals );
	}

	/**
	 * Cuts a name to the bridge's 250 characters.
	 *
	 * @param string $name Name.
	 * @return string
	 */
	private static function clip( $name ) {
		$name = trim( wp_strip_all_tags( (string) $name ) );
		if ( '' === $name ) {
			$name = __( 'Item', 'cartbridge-for-woocommerce' );
		}
		return function_exists( 'mb_substr' ) ? mb_substr( $name, 0, 250 ) : substr( $name, 0, 250 );
	}

	/**
	 * The session body for an order.
	 *
	 * @param WC_Order $order       Order.
	 * @param string   $success_url Order-received URL with key.
	 * @param string   $cancel_url  Cancel URL.
	 * @param string   $provider    Provider name, '' for the store's default.
	 * @return array
	 */
	public static function build( $order, $success_url, $cancel_url, $provider = '' ) {
		$decimals = (int) wc_get_price_decimals();
		$lines    = array();
		$items    = 0;
		$discount = self::to_minor( $order->get_discount_total(), $decimals );

		foreach ( $order->get_items() as $item ) {
			$quantity = max( 1, (int) $item->get_quantity() );
			$subtotal = self::to_minor( $item->get_subtotal(), $decimals );
			if ( $subtotal < 0 ) {
				$discount += -$subtotal;
				continue;
			}
			if ( 0 === $subtotal % $quantity ) {
				$lines[] = array(
					'name'       => self::clip( $item->get_name() ),
					'quantity'   => $quantity,
					'unitAmount' => self::from_minor( intdiv( $subtotal, $quantity ), $decimals ),
				);
			} else {
				$lines[] = array(
					/* translators: 1: product name, 2: quantity */
					'name'       => self::clip( sprintf( __( '%1$s × %2$d', 'cartbridge-for-woocommerce' ), $item->get_name(), $quantity ) ),
					'quantity'   => 1,
					'unitAmount' => self::from_minor( $subtotal, $decimals ),
				);
			}
			$items += $subtotal;
		}

		foreach ( $order->get_fees() as $fee ) {
			$fee_total = self::to_minor( $fee->get_total(), $decimals );
			if ( $fee_total < 0 ) {
				$discount += -$fee_total;
			} elseif ( $fee_total > 0 ) {
				$lines[] = array(
					'name'       => self::clip( $fee->get_name() ),
					'quantity'   => 1,
					'unitAmount' => self::from_minor( $fee_total, $decimals ),
				);
				$items  += $fee_total;
			}
		}

		$shipping = max( 0, self::to_minor( $order->get_shipping_total(), $decimals ) );
		$tax      = max( 0, self::to_minor( $order->get_total_tax(), $decimals ) );
		$total    = self::to_minor( $order->get_total(), $decimals );

		if ( empty( $lines ) ) {
			// No item lines (e.g. an order made of shipping only): one line carries the rest of the total.
			$rest     = max( 0, $total - $shipping - $tax + $discount );
			$lines[]  = array(
				/* translators: %s: order number */
				'name'       => self::clip( sprintf( __( 'Order %s', 'cartbridge-for-woocommerce' ), $order->get_order_number() ) ),
				'quantity'   => 1,
				'unitAmount' => self::from_minor( $rest, $decimals ),
			);
			$items = $rest;
		}

		$difference = $total - ( $items + $shipping + $tax - $discount );
		if ( $difference > 0 ) {
			$lines[] = array(
				'name'       => __( 'Rounding adjustment', 'cartbridge-for-woocommerce' ),
				'quantity'   => 1,
				'unitAmount' => self::from_minor( $difference, $decimals ),
			);
		} elseif ( $difference < 0 ) {
			$discount += -$difference;
		}

		$payload = array(
			'order'      => array(
				'id'     => (string) $order->get_id(),
				'number' => (string) $order->get_order_number(),
				'key'    => (string) $order->get_order_key(),
			),
			'currency'   => strtoupper( (string) $order->get_currency() ),
			'lineItems'  => array_slice( $lines, 0, 250 ),
			'amount'     => self::from_minor( $total, $decimals ),
			'successUrl' => $success_url,
			'cancelUrl'  => $cancel_url,
			'metadata'   => array(
				'source'      => 'woocommerce',
				'wc_order_id' => (string) $order->get_id(),
			),
		);
		if ( $shipping > 0 ) {
			$payload['shippingAmount'] = self::from_minor( $shipping, $decimals );
		}
		if ( $tax > 0 ) {
			$payload['taxAmount'] = self::from_minor( $tax, $decimals );
		}
		if ( $discount > 0 ) {
			$payload['discountAmount'] = self::from_minor( $discount, $decimals );
		}
		$email = (string) $order->get_billing_email();
		if ( '' !== $email && is_email( $email ) ) {
			$payload['customer'] = array( 'email' => $email );
		}
		if ( '' !== $provider ) {
			$payload['provider'] = $provider;
		}
		return $payload;
	}

	/**
	 * Idempotency key derived from the order: the same order with the same contents, on top of the same
	 * previous session, is the same request (a double click or a retried submit replays the first
	 * session); a changed cart, or a retry after the previous session expired, is a new one.
	 *
	 * @param WC_Order $order            Order.
	 * @param array    $payload          Body.
	 * @param string   $previous_session The order's session id before this attempt ('' if none).
	 * @return string
	 */
	public static function idempotency_key( $order, array $payload, $previous_session = '' ) {
		$material = $order->get_order_key() . '|' . $previous_session . '|' . wp_json_encode( $payload );
		return 'wc-' . $order->get_id() . '-' . substr( hash( 'sha256', $material ), 0, 40 );
	}
}
