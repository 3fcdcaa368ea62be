/**
 * "Pay with crypto" block (Thank-you page and Order status page). It asks the bridge about this order with
 * the buyer's session token; the bridge created the payment when the order was placed (orders/create), or
 * creates it now if the buyer got here first. Orders paid another way render nothing.
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";

export default async () => {
  render(<PayWithCrypto />, document.body);
};

/** Re-checks while the buyer waits on the page (a payment confirms in the background), at most 60 times. */
const pollMs = 10_000;
const maxPolls = 60;

function orderId() {
  // Thank-you page: gid://shopify/OrderIdentity/<id>; Order status page: gid://shopify/Order/<id>.
  return shopify.orderConfirmation?.value?.order?.id ?? shopify.order?.value?.id;
}

function PayWithCrypto() {
  const [state, setState] = useState({ loading: true });

  useEffect(() => {
    let polls = 0;
    let timer;
    let stopped = false;
    async function load() {
      const bridge = String(shopify.settings.value.bridge_url ?? "").replace(/\/+$/, "");
      const id = orderId();
      if (!bridge || !id) return setState({ loading: false, hidden: true });
      try {
        const token = await shopify.sessionToken.get();
        const res = await fetch(`${bridge}/shopify/extension/orders/${encodeURIComponent(id)}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const view = await res.json();
        if (stopped) return;
        setState({ loading: false, view });
        const waiting = view.status === "open" || view.status === "processing" || view.reason === "being prepared";
        if (waiting && ++polls < maxPolls) timer = setTimeout(load, pollMs);
      } catch {
        if (!stopped) setState({ loading: false, error: true });
      }
    }
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  if (state.loading) return <s-spinner />;
  if (state.hidden) return null;
  if (state.error) return <s-banner tone="warning" heading={shopify.i18n.translate("unavailable")} />;
  const v = state.view;
  if (v.status === "none") return v.reason === "being prepared" ? <s-spinner /> : null;

  if (v.paid) {
    return <s-banner tone="success" heading={shopify.i18n.translate("paid")}>{`${v.amountPaid} ${v.currency}`}</s-banner>;
  }
  if (v.payUrl) {
    return (
      <s-stack gap="base">
        <s-banner tone={v.status === "underpaid" ? "warning" : "info"} heading={shopify.i18n.translate(v.status === "underpaid" ? "underpaid" : "due")}>
          {v.status === "underpaid" ? `${v.amountPaid} / ${v.amount} ${v.currency}` : `${v.amount} ${v.currency}`}
        </s-banner>
        <s-button variant="primary" href={v.payUrl} target="_blank">{shopify.i18n.translate("pay")}</s-button>
        <s-text tone="neutral">{shopify.i18n.translate("until", { time: new Date(v.expiresAt).toLocaleString() })}</s-text>
      </s-stack>
    );
  }
  return <s-banner tone="critical" heading={shopify.i18n.translate(v.status === "processing" ? "confirming" : "ended")} />;
}
