/**
 * Every GraphQL document the bridge sends to Shopify. Tests validate each one against Shopify's published
 * schema for `shopifyApiVersion` (test/simulators/shopify/schemas.ts), deprecated fields and arguments
 * included, and the fake Shopify refuses any document, or variables, that do not validate.
 */

/** Admin API: the order as the bridge needs it (re-read before every action). */
export const orderQuery = /* GraphQL */ `
  query CartbridgeOrder($id: ID!) {
    order(id: $id) {
      id
      legacyResourceId
      name
      email
      test
      cancelledAt
      closed
      canMarkAsPaid
      displayFinancialStatus
      paymentGatewayNames
      presentmentCurrencyCode
      statusPageUrl
      note
      tags
      totalOutstandingSet { presentmentMoney { amount currencyCode } }
      totalReceivedSet { presentmentMoney { amount currencyCode } }
      transactions(first: 20) { id kind status gateway manuallyCapturable amountSet { presentmentMoney { amount currencyCode } } }
    }
  }
`;

export const orderMarkAsPaidMutation = /* GraphQL */ `
  mutation CartbridgeOrderMarkAsPaid($input: OrderMarkAsPaidInput!) {
    orderMarkAsPaid(input: $input) {
      order { id displayFinancialStatus }
      userErrors { field message }
    }
  }
`;

export const orderCaptureMutation = /* GraphQL */ `
  mutation CartbridgeOrderCapture($input: OrderCaptureInput!) {
    orderCapture(input: $input) {
      transaction { id status }
      userErrors { field message }
    }
  }
`;

export const orderCancelMutation = /* GraphQL */ `
  mutation CartbridgeOrderCancel($orderId: ID!, $staffNote: String) {
    orderCancel(
      orderId: $orderId, reason: DECLINED, restock: true, notifyCustomer: false, staffNote: $staffNote,
      # Nothing was paid, so nothing is refunded (refundMethod replaces the deprecated refund argument).
      refundMethod: { originalPaymentMethodsRefund: false }
    ) {
      job { id done }
      orderCancelUserErrors { code field message }
    }
  }
`;

export const orderNoteMutation = /* GraphQL */ `
  mutation CartbridgeOrderNote($input: OrderInput!) {
    orderUpdate(input: $input) {
      order { id }
      userErrors { field message }
    }
  }
`;

export const tagsAddMutation = /* GraphQL */ `
  mutation CartbridgeTagsAdd($id: ID!, $tags: [String!]!) {
    tagsAdd(id: $id, tags: $tags) {
      userErrors { field message }
    }
  }
`;

export const metafieldsSetMutation = /* GraphQL */ `
  mutation CartbridgeMetafieldsSet($metafields: [MetafieldsSetInput!]!) {
    metafieldsSet(metafields: $metafields) {
      metafields { key }
      userErrors { field message }
    }
  }
`;

/** Payments Apps API. */
export const paymentSessionResolveMutation = /* GraphQL */ `
  mutation CartbridgePaymentSessionResolve($id: ID!) {
    paymentSessionResolve(id: $id) {
      paymentSession {
        id
        state { ... on PaymentSessionStateResolved { code } }
        nextAction { action context { ... on PaymentSessionActionsRedirect { redirectUrl } } }
      }
      userErrors { field message }
    }
  }
`;

export const paymentSessionPendingMutation = /* GraphQL */ `
  mutation CartbridgePaymentSessionPending($id: ID!, $pendingExpiresAt: DateTime!, $reason: PaymentSessionStatePendingReason!) {
    paymentSessionPending(id: $id, pendingExpiresAt: $pendingExpiresAt, reason: $reason) {
      paymentSession {
        id
        state { ... on PaymentSessionStatePending { code reason } }
        nextAction { action context { ... on PaymentSessionActionsRedirect { redirectUrl } } }
      }
      userErrors { field message }
    }
  }
`;

export const paymentSessionRejectMutation = /* GraphQL */ `
  mutation CartbridgePaymentSessionReject($id: ID!, $reason: PaymentSessionRejectionReasonInput!) {
    paymentSessionReject(id: $id, reason: $reason) {
      paymentSession {
        id
        state { ... on PaymentSessionStateRejected { code reason merchantMessage } }
        nextAction { action context { ... on PaymentSessionActionsRedirect { redirectUrl } } }
      }
      userErrors { field message }
    }
  }
`;

export const refundSessionResolveMutation = /* GraphQL */ `
  mutation CartbridgeRefundSessionResolve($id: ID!) {
    refundSessionResolve(id: $id) {
      refundSession { id }
      userErrors { field message }
    }
  }
`;

export const refundSessionRejectMutation = /* GraphQL */ `
  mutation CartbridgeRefundSessionReject($id: ID!, $reason: RefundSessionRejectionReasonInput!) {
    refundSessionReject(id: $id, reason: $reason) {
      refundSession { id }
      userErrors { field message }
    }
  }
`;

export const adminDocuments = {
  orderQuery,
  orderMarkAsPaidMutation,
  orderCaptureMutation,
  orderCancelMutation,
  orderNoteMutation,
  tagsAddMutation,
  metafieldsSetMutation,
};

export const paymentsAppsDocuments = {
  paymentSessionResolveMutation,
  paymentSessionPendingMutation,
  paymentSessionRejectMutation,
  refundSessionResolveMutation,
  refundSessionRejectMutation,
};

export interface OrderMoney {
  presentmentMoney: { amount: string; currencyCode: string };
}

export interface ShopifyOrder {
  id: string;
  legacyResourceId: string;
  name: string;
  email: string | null;
  test: boolean;
  cancelledAt: string | null;
  closed: boolean;
  canMarkAsPaid: boolean;
  displayFinancialStatus: string | null;
  paymentGatewayNames: string[];
  presentmentCurrencyCode: string;
  statusPageUrl: string;
  note: string | null;
  tags: string[];
  totalOutstandingSet: OrderMoney;
  totalReceivedSet: OrderMoney;
  transactions: { id: string; kind: string; status: string; gateway: string | null; manuallyCapturable: boolean; amountSet: OrderMoney }[];
}

export interface UserErrors {
  userErrors: { field?: string[] | null; message: string }[];
}

/** What paymentSessionResolve / Pending / Reject answer: where Shopify wants the buyer sent next. */
export interface PaymentSessionPayload extends UserErrors {
  paymentSession: { id: string; nextAction: { action: string; context: { redirectUrl?: string } } | null } | null;
}
