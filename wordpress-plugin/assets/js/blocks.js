/**
 * Registers the Cartbridge payment method with the Checkout block. Plain JS, no build step: everything
 * comes from the globals WooCommerce and WordPress load as this script's dependencies.
 */
( function () {
	'use strict';
	var registry = window.wc && window.wc.wcBlocksRegistry;
	var wcSettings = window.wc && window.wc.wcSettings;
	if ( ! registry || ! wcSettings ) {
		return;
	}
	var createElement = window.wp.element.createElement;
	var decodeEntities = window.wp.htmlEntities.decodeEntities;
	var __ = window.wp.i18n.__;
	var settings = wcSettings.getSetting( 'cartbridge_data', {} );
	var title = decodeEntities( settings.title || '' ) || __( 'Pay with crypto', 'cartbridge-for-woocommerce' );

	function Content() {
		return createElement( 'div', null, decodeEntities( settings.description || '' ) );
	}

	function Label( props ) {
		var PaymentMethodLabel = props && props.components && props.components.PaymentMethodLabel;
		return PaymentMethodLabel ? createElement( PaymentMethodLabel, { text: title } ) : createElement( 'span', null, title );
	}

	registry.registerPaymentMethod( {
		name: 'cartbridge',
		label: createElement( Label, null ),
		content: createElement( Content, null ),
		edit: createElement( Content, null ),
		canMakePayment: function () {
			return true;
		},
		ariaLabel: title,
		supports: {
			features: settings.supports || [ 'products' ],
		},
	} );
} )();
