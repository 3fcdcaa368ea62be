/**
 * The `sandbox` provider: a test-mode platform hosted by the bridge itself. Its payment page has a button
 * per outcome (paid, underpaid, overpaid, paid late, expired, failed); pressing one sends a signed webhook
 * (`Cartbridge-Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.rawBody">`) to the bridge's own
 * webhook endpoint, through the same pipeline as every real provider. No money moves.
 */
import { createHmac, randomBytes } from "node:crypto";
import { Hono } from "hono";
import { html, raw } from "hono/html";
import { z } from "zod";
import { safeEqual } from "../../src/crypto/secrets.ts";
import { formatUnits } from "../../src/domain/money.ts";
import {
  WebhookVerificationError,
  type HostedSessionView,
  type PaymentProvider,
  type PluginHost,
} from "../types.ts";
import type { PaymentOutcome } from "../../src/domain/session-status.ts";

export const sandboxCredentials = z.object({
  /** Signs the sandbox's webhooks; generated when the connection is added. */
  webhookSecret: z.string().min(16).default(() => `sbx_whsec_${randomBytes(24).toString("hex")}`),
});
export type SandboxCredentials = z.infer<typeof sandboxCredentials>;
const sandboxSettings = z.object({}).passthrough();

export const signatureHeader = "cartbridge-sandbox-signature";

export const simulatedOutcomes = ["paid", "underpaid", "overpaid", "paid_late", "expired", "failed"] as const satisfies readonly PaymentOutcome[];
type SimulatedOutcome = (typeof simulatedOutcomes)[number];

export interface SandboxEvent {
  id: string;
  type: `payment.${SimulatedOutcome}`;
  created: number;
  data: {
    session: string;
    cartbridge_session_id: string;
    order_id: string;
    status: SimulatedOutcome;
    /** Total paid, minor units of `currency`, as a decimal integer string. */
    amount_paid_minor: string;
    currency: string;
    tx: string | null;
  };
}

export function signSandboxPayload(secret: string, timestamp: number, body: string): string {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

function amountFor(outcome: SimulatedOutcome, expected: bigint): bigint {
  switch (outcome) {
    case "paid":
    case "paid_late":
      return expected;
    case "underpaid":
      return expected / 2n;
    case "overpaid":
      return expected + (expected / 10n > 0n ? expected / 10n : 1n);
    case "expired":
    case "failed":
      return 0n;
    default: {
      const never: never = outcome;
      throw new Error(`unhandled outcome ${String(never)}`);
    }
  }
}

export function buildSandboxEvent(session: HostedSessionView, outcome: SimulatedOutcome, now: Date): SandboxEvent {
  const paying = outcome !== "expired" && outcome !== "failed";
  return {
    id: `sbx_evt_${randomBytes(10).toString("hex")}`,
    type: `payment.${outcome}`,
    created: Math.floor(now.getTime() / 1000),
    data: {
      session: session.providerSessionId,
      cartbridge_session_id: session.id,
      order_id: session.orderId,
      status: outcome,
      amount_paid_minor: amountFor(outcome, session.amountMinor).toString(),
      currency: session.currency,
      tx: paying ? `sandbox_tx_${randomBytes(8).toString("hex")}` : null,
    },
  };
}

const eventSchema = z.object({
  id: z.string().min(1),
  type: z.string(),
  created: z.number().int(),
  data: z.object({
    session: z.string(),
    cartbridge_session_id: z.string(),
    order_id: z.string(),
    status: z.enum(simulatedOutcomes),
    amount_paid_minor: z.string().regex(/^\d+$/),
    currency: z.string(),
    tx: z.string().nullable(),
  }),
});

export const sandboxProvider: PaymentProvider<SandboxCredentials, Record<string, unknown>> = {
  name: "sandbox",
  displayName: "Sandbox (test mode)",
  credentialsSchema: sandboxCredentials,
  settingsSchema: sandboxSettings,
  webhookTrust: "signed",
  testOnly: true,

  async createSession(session, ctx) {
    const providerSessionId = `sbx_${randomBytes(12).toString("hex")}`;
    return {
      providerSessionId,
      checkoutUrl: `${ctx.publicUrl}/p/sandbox/checkout/${ctx.connectionId}/${providerSessionId}`,
      providerData: { amountMinor: session.amountMinor.toString() },
    };
  },

  async verifyWebhook(webhook, ctx) {
    const header = webhook.headers[signatureHeader];
    if (!header) throw new WebhookVerificationError("missing_signature");
    const parts = Object.fromEntries(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
    const t = Number(parts.t);
    if (!parts.t || !Number.isInteger(t) || !parts.v1) throw new WebhookVerificationError("bad_signature", "malformed signature header");
    const body = Buffer.from(webhook.rawBody).toString("utf8");
    const expected = signSandboxPayload(ctx.credentials.webhookSecret, t, body).split("v1=")[1]!;
    if (!safeEqual(parts.v1, expected)) throw new WebhookVerificationError("bad_signature");
    if (Math.abs(ctx.now().getTime() / 1000 - t) > ctx.webhookToleranceSeconds) {
      throw new WebhookVerificationError("stale_timestamp");
    }
    let event;
    try {
      event = eventSchema.parse(JSON.parse(body));
    } catch {
      throw new WebhookVerificationError("malformed_body");
    }
    return {
      eventId: event.id,
      events: [
        {
          bridgeSessionId: event.data.cartbridge_session_id,
          providerSessionId: event.data.session,
          orderId: event.data.order_id,
          outcome: event.data.status,
          ...(event.data.status === "expired" || event.data.status === "failed"
            ? {}
            : { amountPaidMinor: BigInt(event.data.amount_paid_minor), currency: event.data.currency }),
          ...(event.data.tx ? { paymentReference: event.data.tx } : {}),
          transactions: event.data.tx ? [{ hash: event.data.tx }] : [],
          occurredAt: new Date(event.created * 1000),
          providerStatus: event.data.status,
        },
      ],
    };
  },

  routes(host: PluginHost) {
    const app = new Hono();
    app.get("/checkout/:connectionId/:providerSessionId", async (c) => {
      const session = await host.findSessionByProviderRef(c.req.param("connectionId"), c.req.param("providerSessionId"));
      if (!session) return c.html(shell("Not found", html`<p>No sandbox session here.</p>`), 404);
      return c.html(checkoutPage(session, c.req.url));
    });
    app.post("/checkout/:connectionId/:providerSessionId/simulate", async (c) => {
      const connectionId = c.req.param("connectionId");
      const session = await host.findSessionByProviderRef(connectionId, c.req.param("providerSessionId"));
      const connection = await host.loadConnection(connectionId);
      if (!session || !connection || connection.provider !== "sandbox") return c.html(shell("Not found", html`<p>No sandbox session here.</p>`), 404);
      const form = await c.req.parseBody();
      const outcome = simulatedOutcomes.find((o) => o === form.outcome);
      if (!outcome) return c.html(shell("Unknown outcome", html`<p>Pick one of the buttons.</p>`), 400);
      // A late payment is one that happens after the session's expiry.
      const now = outcome === "paid_late" ? new Date(Math.max(host.now().getTime(), session.expiresAt.getTime() + 1000)) : host.now();
      const event = buildSandboxEvent(session, outcome, now);
      const body = JSON.stringify(event);
      const credentials = sandboxCredentials.parse(connection.credentials);
      const response = await host.postWebhook(new URL(connection.webhookUrl).pathname, {
        body,
        headers: {
          "content-type": "application/json",
          [signatureHeader]: signSandboxPayload(credentials.webhookSecret, Math.floor(host.now().getTime() / 1000), body),
        },
      });
      const back = outcome === "expired" || outcome === "failed" ? session.cancelUrl : session.successUrl;
      return c.html(
        shell(
          "Simulated",
          html`<p data-testid="result">Sent <code>${event.type}</code>; the bridge answered HTTP ${response.status}.</p>
            <p><a class="button" href="${back}">Return to the store</a></p>`,
        ),
        response.ok ? 200 : 502,
      );
    });
    return app;
  },
};

function shell(title: string, body: unknown) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Cartbridge sandbox</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#111827}
.badge{display:inline-block;background:#fde68a;color:#78350f;border-radius:.3rem;padding:.1rem .5rem;font-size:.8rem}
table{width:100%;border-collapse:collapse}td{padding:.3rem 0;border-bottom:1px solid #e5e7eb}td.r{text-align:right}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.5rem;margin-top:1rem}
button,.button{padding:.7rem;border:0;border-radius:.4rem;background:#111827;color:#fff;font-size:1rem;text-decoration:none;display:inline-block}
button.alt{background:#e5e7eb;color:#111827}
</style></head><body><span class="badge">TEST MODE · no money moves</span><h1>${title}</h1>${body}</body></html>`;
}

function checkoutPage(session: HostedSessionView, url: string) {
  const fmt = (minor: bigint) => `${formatUnits(minor, session.currencyExponent)} ${session.currency}`;
  const action = `${new URL(url).pathname}/simulate`;
  return shell(
    `Pay ${fmt(session.amountMinor)}`,
    html`<p>Order ${session.orderNumber ?? session.orderId}</p>
      <table>
        ${raw(session.lineItems.map((l) => `<tr><td>${escapeHtml(l.name)} × ${l.quantity}</td><td class="r">${fmt(l.unitAmountMinor * BigInt(l.quantity))}</td></tr>`).join(""))}
        <tr><td><strong>Total</strong></td><td class="r"><strong data-testid="total">${fmt(session.amountMinor)}</strong></td></tr>
      </table>
      <p>Status: <span data-testid="status">${session.status}</span> · expires ${session.expiresAt.toISOString()}</p>
      <form method="post" action="${action}" class="grid">
        ${simulatedOutcomes.map((o) => html`<button name="outcome" value="${o}" class="${o === "paid" ? "" : "alt"}">Simulate ${o.replace("_", " ")}</button>`)}
      </form>`,
  );
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
