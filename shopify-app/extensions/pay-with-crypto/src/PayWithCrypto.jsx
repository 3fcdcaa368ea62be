/**
 * "Pay with crypto" block (Thank-you page and Order status page). It asks the bridge about this order with
 * the buyer's session token; the bridge created the payment when the order was placed (orders/create), or
 * creates it now if the buyer got here first. Orders paid another way render nothing. What to show and when
 * to ask again is decided in ./view.ts.
 */
import "@shopify/ui-extensions/preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { blockFor, nextPollMs } from "./view.ts";

export default async () => {
  render(<PayWithCrypto />, document.body);
};

function orderId() {
  // Thank-you page: gid://shopify/OrderIdentity/<id>; Order status page: gid://shopify/Order/<id>.
  return shopify.orderConfirmation?.value?.order?.id ?? shopify.order?.value?.id;
}

function PayWithCrypto() {
  const [block, setBlock] = useState({ kind: "loading" });

  useEffect(() => {
    const startedAt = Date.now();
    let polls = 0;
    let timer;
    let stopped = false;
    async function load() {
      const bridge = String(shopify.settings.value.bridge_url ?? "").replace(/\/+$/, "");
      const id = orderId();
      if (!bridge || !id) return setBlock({ kind: "hidden" });
      try {
        const token = await shopify.sessionToken.get();
        const res = await fetch(`${bridge}/shopify/extension/orders/${encodeURIComponent(id)}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const view = await res.json();
        if (stopped) return;
        const next = blockFor(view, Date.now() - startedAt);
        setBlock(next);
        const delay = nextPollMs(next, ++polls);
        if (delay !== undefined) timer = setTimeout(load, delay);
      } catch {
        if (!stopped) setBlock({ kind: "unavailable" });
      }
    }
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  const t = (key, params) => shopify.i18n.translate(key, params);
  switch (block.kind) {
    case "loading":
    case "preparing":
      return <s-spinner />;
    case "hidden":
      return null;
    case "unavailable":
      return <s-banner tone="warning" heading={t("unavailable")} />;
    case "paid":
      return <s-banner tone="success" heading={t("paid")}>{block.text}</s-banner>;
    case "confirming":
      return <s-banner tone="info" heading={t("confirming")}>{block.text}</s-banner>;
    case "due":
      return (
        <s-stack gap="base">
          <s-banner tone={block.underpaid ? "warning" : "info"} heading={t(block.underpaid ? "underpaid" : "due")}>{block.text}</s-banner>
          <s-button variant="primary" href={block.payUrl} target="_blank">{t("pay")}</s-button>
          {block.expiresAt ? <s-text tone="neutral">{t("until", { time: new Date(block.expiresAt).toLocaleString() })}</s-text> : null}
        </s-stack>
      );
    default:
      return <s-banner tone="critical" heading={t("ended")} />;
  }
}
