// A custom store's server on plain Node (no tsx, no TypeScript): imports the SDK by package name,
// as `npm install cartbridge` would, and prints what it could do with it. Run by sdk-package.test.ts.
import { Webhook } from "standardwebhooks";
import { CartbridgeClient, verifyWebhook, WebhookSignatureError } from "cartbridge/sdk";

const secret = `whsec_${Buffer.from("a secret of at least 24 bytes!!").toString("base64")}`;
const body = JSON.stringify({ id: "su_1", type: "checkout_session.paid", createdAt: 1, session: { id: "cs_1" } });
const now = new Date();
const signature = new Webhook(secret).sign("su_1", now, body);
const headers = { "webhook-id": "su_1", "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": signature };
const verified = verifyWebhook(body, headers, secret);
let forged = "accepted";
try {
  verifyWebhook(body.replace("paid", "expired"), headers, secret);
} catch (err) {
  forged = err instanceof WebhookSignatureError ? "refused" : String(err);
}
const client = new CartbridgeClient({
  baseUrl: "http://bridge.invalid",
  secretKey: "sk_test_x",
  fetch: async (url) => new Response(JSON.stringify({ id: new URL(url).pathname.split("/").pop(), object: "checkout_session" }), { status: 200, headers: { "content-type": "application/json" } }),
});
const session = await client.getCheckoutSession("cs_42");
console.log(JSON.stringify({ verified: verified.type, forged, session: session.id }));
