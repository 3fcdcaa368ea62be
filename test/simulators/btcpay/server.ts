/**
 * A local BTCPay Server (Greenfield, providers.md §5) for tests: a real HTTP server on 127.0.0.1.
 * `Authorization: token <apiKey>`; `POST /api/v1/stores/{storeId}/invoices` validates like the server
 * (decimal-string amount, currency, checkout options) and answers 400 ValidationProblemDetails
 * `[{path,message}]` or ProblemDetails `{code,message}`; `GET …/invoices?orderId=`, `GET …/invoices/{id}`
 * and `GET …/invoices/{id}/payment-methods` answer the re-fetches; `/i/{id}` is the hosted page.
 * Invoices are priced in BTC at a fixed rate and move through New → Processing → Settled (or Expired,
 * with PaidPartial / PaidLate / PaidOver); each move sends the store webhook's events, signed
 * `BTCPay-Sig: sha256=<hex HMAC-SHA256(UTF8(secret), body)>`, compact or indented (btcpayserver #2300),
 * with redelivery (new deliveryId, originalDeliveryId kept).
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono, type Context } from "hono";

export type SimStatus = "New" | "Processing" | "Expired" | "Invalid" | "Settled";
export type SimAdditional = "None" | "PaidLate" | "PaidPartial" | "Marked" | "Invalid" | "PaidOver";

export interface SimRequest {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string;
}

export interface DeliveryOptions {
  secret?: string;
  omitSignature?: boolean;
  /** Send `Formatting.Indented` JSON (older servers), signed as sent. */
  indented?: boolean;
  /** Change the bytes after signing. */
  tamper?: (body: string) => string;
  /** Deliver JSON.parse→JSON.stringify of the signed body (what a body-parsing middleware does). */
  reserialize?: boolean;
  /** Record but do not deliver (deliver later with `redeliver`: out of order). */
  hold?: boolean;
}

interface SimInvoice {
  id: string;
  storeId: string;
  amount: string;
  currency: string;
  status: SimStatus;
  additionalStatus: SimAdditional;
  metadata: Record<string, unknown>;
  checkout: Record<string, unknown>;
  createdTime: number;
  expirationTime: number;
  /** Due and paid in satoshis. */
  dueSats: bigint;
  paidSats: bigint;
  payments: { id: string; value: string; receivedDate: number; status: string }[];
}

export interface SentDelivery {
  deliveryId: string;
  originalDeliveryId: string;
  event: Record<string, unknown>;
}

/** A fixed price: 40 000 units of the invoice currency per BTC, 100 000 000 sats per BTC. */
export const simRate = 40_000n;

const exponents: Record<string, number> = { JPY: 0, KRW: 0, BHD: 3, KWD: 3 };

function btc(sats: bigint): string {
  const s = sats.toString().padStart(9, "0");
  return `${s.slice(0, -8)}.${s.slice(-8)}`;
}

export class BtcpaySimulator {
  readonly apiKey = randomBytes(20).toString("hex");
  readonly webhookSecret = randomBytes(16).toString("base64url");
  readonly storeId = `Store${randomBytes(8).toString("hex")}`;
  readonly webhookId = `Wh${randomBytes(6).toString("hex")}`;
  readonly invoices = new Map<string, SimInvoice>();
  readonly requests: SimRequest[] = [];
  readonly deliveries: SentDelivery[] = [];
  deliver: ((body: string, headers: Record<string, string>) => Promise<{ status: number }>) | undefined;
  /** The next API call answers this status. */
  failNext: number | undefined;
  /** The next create makes the invoice, then answers 502 (the response is lost). */
  dropNextCreateResponse = false;
  /** Answer 404 for payment-methods (an instance or key that cannot read them). */
  hidePaymentMethods = false;
  url = "";
  private server: Server | undefined;

  constructor(private readonly now: () => Date = () => new Date()) {}

  async start(): Promise<this> {
    this.server = createAdaptorServer({ fetch: this.app().fetch }) as Server;
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  creates(): SimRequest[] {
    return this.requests.filter((r) => r.method === "POST" && r.path.endsWith("/invoices"));
  }

  private app(): Hono {
    const app = new Hono();
    const problem = (c: Context, status: number, code: string, message: string) => c.json({ code, message }, status as 400);
    app.use("*", async (c, next) => {
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((v, k) => (headers[k] = v));
      const url = new URL(c.req.url);
      this.requests.push({ method: c.req.method, path: url.pathname, search: url.search, headers, body: c.req.method === "GET" ? "" : await c.req.raw.clone().text() });
      await next();
    });
    app.use("/api/v1/*", async (c, next) => {
      if (this.failNext !== undefined) {
        const status = this.failNext;
        this.failNext = undefined;
        return problem(c, status, "service-unavailable", "The server is busy");
      }
      if (c.req.header("authorization") !== `token ${this.apiKey}`) {
        return problem(c, 401, "unauthenticated", "Authentication is required for accessing this endpoint");
      }
      await next();
    });
    app.use("/api/v1/stores/:storeId/*", async (c, next) => {
      if (c.req.param("storeId") !== this.storeId) return problem(c, 403, "missing-permission", "Missing permission btcpay.store.canviewinvoices");
      await next();
    });
    app.get("/api/v1/stores/:storeId/invoices", (c) => {
      const orderIds = new URL(c.req.url).searchParams.getAll("orderId");
      const list = [...this.invoices.values()].filter((i) => orderIds.length === 0 || orderIds.includes(String(i.metadata.orderId)));
      return c.json(list.reverse().map((i) => this.invoiceData(i)));
    });
    app.post("/api/v1/stores/:storeId/invoices", async (c) => {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(await c.req.text()) as Record<string, unknown>;
      } catch {
        return c.json([{ path: "", message: "Invalid JSON" }], 400);
      }
      const errors: { path: string; message: string }[] = [];
      if (typeof input.amount !== "string" || !/^\d+(\.\d+)?$/.test(input.amount) || !/[1-9]/.test(input.amount)) {
        errors.push({ path: "amount", message: "The amount should be a positive decimal" });
      }
      const currency = typeof input.currency === "string" ? input.currency : "";
      if (!/^[A-Z]{3}$/.test(currency)) errors.push({ path: "currency", message: "Invalid currency" });
      const checkout = (input.checkout ?? {}) as Record<string, unknown>;
      if (checkout.expirationMinutes !== undefined && !(typeof checkout.expirationMinutes === "number" && checkout.expirationMinutes > 0)) {
        errors.push({ path: "checkout.expirationMinutes", message: "Expiration time must be strictly positive" });
      }
      if (checkout.redirectURL !== undefined && !(typeof checkout.redirectURL === "string" && /^https?:\/\//.test(checkout.redirectURL))) {
        errors.push({ path: "checkout.redirectURL", message: "Not a valid absolute URL" });
      }
      const metadata = input.metadata ?? {};
      if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) errors.push({ path: "metadata", message: "metadata should be an object" });
      if (errors.length) return c.json(errors, 400);

      const exponent = exponents[currency] ?? 2;
      const [whole, fraction = ""] = (input.amount as string).split(".");
      if (fraction.replace(/0+$/, "").length > exponent) return c.json([{ path: "amount", message: `Too many decimals for ${currency}` }], 400);
      const minor = BigInt(whole! + fraction.padEnd(exponent, "0").slice(0, exponent));
      // sats = minor / 10^exp / rate × 10^8, rounded up so the invoice is never under-asked.
      const num = minor * 100_000_000n;
      const den = simRate * 10n ** BigInt(exponent);
      const dueSats = (num + den - 1n) / den;
      const now = Math.floor(this.now().getTime() / 1000);
      const invoice: SimInvoice = {
        id: randomBytes(11).toString("base64url").replace(/[-_]/g, "X"),
        storeId: this.storeId,
        amount: input.amount as string,
        currency,
        status: "New",
        additionalStatus: "None",
        metadata: metadata as Record<string, unknown>,
        checkout: { speedPolicy: "MediumSpeed", expirationMinutes: 15, monitoringMinutes: 1440, paymentTolerance: 0, redirectAutomatically: false, ...checkout },
        createdTime: now,
        expirationTime: now + Math.round(Number(checkout.expirationMinutes ?? 15) * 60),
        dueSats,
        paidSats: 0n,
        payments: [],
      };
      this.invoices.set(invoice.id, invoice);
      // Recorded, not posted: the bridge is still inside its create call (`redeliver` sends it).
      void this.emit(invoice, "InvoiceCreated", {}, { hold: true });
      if (this.dropNextCreateResponse) {
        this.dropNextCreateResponse = false;
        return c.text("Bad Gateway", 502);
      }
      return c.json(this.invoiceData(invoice));
    });
    app.get("/api/v1/stores/:storeId/invoices/:id", (c) => {
      const invoice = this.invoices.get(c.req.param("id"));
      return invoice ? c.json(this.invoiceData(invoice)) : problem(c, 404, "invoice-not-found", "The invoice was not found");
    });
    app.get("/api/v1/stores/:storeId/invoices/:id/payment-methods", (c) => {
      const invoice = this.invoices.get(c.req.param("id"));
      if (!invoice || this.hidePaymentMethods) return problem(c, 404, "invoice-not-found", "The invoice was not found");
      return c.json([
        {
          paymentMethod: "BTC",
          cryptoCode: "BTC",
          destination: "bcrt1qsimulated",
          paymentLink: `bitcoin:bcrt1qsimulated?amount=${btc(invoice.dueSats)}`,
          rate: `${simRate}.00`,
          paymentMethodPaid: btc(invoice.paidSats),
          totalPaid: btc(invoice.paidSats),
          due: btc(invoice.dueSats > invoice.paidSats ? invoice.dueSats - invoice.paidSats : 0n),
          amount: btc(invoice.dueSats),
          networkFee: "0.00000000",
          payments: invoice.payments,
          activated: true,
          additionalData: {},
        },
      ]);
    });
    app.get("/i/:id", (c) => {
      const invoice = this.invoices.get(c.req.param("id"));
      if (!invoice) return c.html("<!doctype html><title>Not found</title><p>Invoice not found</p>", 404);
      return c.html(
        `<!doctype html><html><head><meta charset="utf-8"><title>BTCPay invoice</title></head><body>` +
          `<h1>Pay ${invoice.amount} ${invoice.currency}</h1><p>${btc(invoice.dueSats)} BTC</p>` +
          `<p>Status: <span data-testid="status">${invoice.status}</span></p></body></html>`,
      );
    });
    return app;
  }

  private invoiceData(i: SimInvoice) {
    return {
      id: i.id,
      storeId: i.storeId,
      amount: i.amount,
      currency: i.currency,
      type: "Standard",
      checkoutLink: `${this.url}/i/${i.id}`,
      status: i.status,
      additionalStatus: i.additionalStatus,
      monitoringExpiration: i.expirationTime + 86_400,
      expirationTime: i.expirationTime,
      createdTime: i.createdTime,
      availableStatusesForManualMarking: i.status === "Settled" ? ["Invalid"] : ["Settled", "Invalid"],
      archived: false,
      metadata: i.metadata,
      checkout: i.checkout,
      receipt: { enabled: null, showQR: null, showPayments: null },
    };
  }

  invoice(id: string): SimInvoice {
    const invoice = this.invoices.get(id);
    if (!invoice) throw new Error(`no invoice ${id}`);
    return invoice;
  }

  /**
   * The buyer pays `sats` (default: exactly what is due). A payment to an expired invoice is late.
   * `confirm: false` stops at Processing (paid, unconfirmed).
   */
  async pay(id: string, options: DeliveryOptions & { sats?: bigint; fraction?: [bigint, bigint]; confirm?: boolean } = {}) {
    const invoice = this.invoice(id);
    const remaining = invoice.dueSats - invoice.paidSats;
    const sats = options.sats ?? (options.fraction ? (invoice.dueSats * options.fraction[0]) / options.fraction[1] : remaining);
    const payment = { id: `${randomBytes(32).toString("hex")}-0`, value: btc(sats), receivedDate: Math.floor(this.now().getTime() / 1000), status: "Settled" };
    invoice.payments.push(payment);
    invoice.paidSats += sats;
    const paymentEvent = { paymentMethod: "BTC", payment: { id: payment.id, receivedDate: payment.receivedDate, value: payment.value, fee: "0.0", status: "Processing", destination: "bcrt1qsimulated" } };
    const results: { status: number }[] = [];
    if (invoice.status === "Expired" || invoice.status === "Invalid") {
      invoice.additionalStatus = invoice.paidSats >= invoice.dueSats ? "PaidLate" : "PaidPartial";
      results.push(await this.emit(invoice, "InvoiceReceivedPayment", { afterExpiration: true, ...paymentEvent }, options));
      if (options.confirm !== false) results.push(await this.emit(invoice, "InvoicePaymentSettled", { afterExpiration: true, ...paymentEvent }, options));
      return results.at(-1)!;
    }
    results.push(await this.emit(invoice, "InvoiceReceivedPayment", { afterExpiration: false, ...paymentEvent }, options));
    if (invoice.paidSats < invoice.dueSats) {
      invoice.additionalStatus = "PaidPartial";
      return results.at(-1)!;
    }
    const overPaid = invoice.paidSats > invoice.dueSats;
    invoice.status = "Processing";
    invoice.additionalStatus = overPaid ? "PaidOver" : "None";
    results.push(await this.emit(invoice, "InvoiceProcessing", { overPaid }, options));
    if (options.confirm === false) return results.at(-1)!;
    return this.confirm(id, options);
  }

  /** The payments reach the store's confirmation threshold. */
  async confirm(id: string, options: DeliveryOptions = {}) {
    const invoice = this.invoice(id);
    const overPaid = invoice.paidSats > invoice.dueSats;
    invoice.status = "Settled";
    invoice.additionalStatus = overPaid ? "PaidOver" : "None";
    const last = invoice.payments.at(-1);
    await this.emit(invoice, "InvoicePaymentSettled", { afterExpiration: false, paymentMethod: "BTC", payment: last }, options);
    return this.emit(invoice, "InvoiceSettled", { manuallyMarked: false, overPaid }, options);
  }

  async expire(id: string, options: DeliveryOptions = {}) {
    const invoice = this.invoice(id);
    const partiallyPaid = invoice.paidSats > 0n;
    invoice.status = "Expired";
    invoice.additionalStatus = partiallyPaid ? "PaidPartial" : "None";
    return this.emit(invoice, "InvoiceExpired", { partiallyPaid }, options);
  }

  async markInvalid(id: string, options: DeliveryOptions = {}) {
    const invoice = this.invoice(id);
    invoice.status = "Invalid";
    invoice.additionalStatus = "Marked";
    return this.emit(invoice, "InvoiceInvalid", { manuallyMarked: true }, options);
  }

  async markSettled(id: string, options: DeliveryOptions = {}) {
    const invoice = this.invoice(id);
    invoice.status = "Settled";
    invoice.additionalStatus = "Marked";
    return this.emit(invoice, "InvoiceSettled", { manuallyMarked: true, overPaid: false }, options);
  }

  /** Sets the invoice's state as the server would show it and sends one event (for the status table). */
  async setState(id: string, status: SimStatus, additionalStatus: SimAdditional, paidSats: bigint, type: string, extras: Record<string, unknown> = {}) {
    const invoice = this.invoice(id);
    invoice.status = status;
    invoice.additionalStatus = additionalStatus;
    invoice.paidSats = paidSats;
    return this.emit(invoice, type, extras);
  }

  /** A correctly signed event that the invoice's own state does not back. */
  async forge(id: string, type: string, extras: Record<string, unknown> = {}, options: DeliveryOptions = {}) {
    return this.emit(this.invoice(id), type, extras, options);
  }

  /** BTCPay's redeliver: a new deliveryId, `originalDeliveryId` pointing at the first, `isRedelivery: true`. */
  async redeliver(index: number, options: DeliveryOptions = {}) {
    const first = this.deliveries[index];
    if (!first) throw new Error(`no delivery ${index}`);
    const deliveryId = randomBytes(10).toString("base64url");
    const event = { ...first.event, deliveryId, originalDeliveryId: first.originalDeliveryId, isRedelivery: true };
    return this.post(event, options);
  }

  private async emit(invoice: SimInvoice, type: string, extras: Record<string, unknown>, options: DeliveryOptions = {}) {
    const deliveryId = randomBytes(10).toString("base64url");
    const event = {
      deliveryId,
      webhookId: this.webhookId,
      originalDeliveryId: deliveryId,
      isRedelivery: false,
      type,
      timestamp: Math.floor(this.now().getTime() / 1000),
      storeId: invoice.storeId,
      invoiceId: invoice.id,
      metadata: invoice.metadata,
      ...extras,
    };
    this.deliveries.push({ deliveryId, originalDeliveryId: deliveryId, event });
    if (options.hold || !this.deliver) return { status: 0 };
    return this.post(event, options);
  }

  private async post(event: Record<string, unknown>, options: DeliveryOptions): Promise<{ status: number }> {
    if (!this.deliver) throw new Error("set deliver first");
    const signed = options.indented ? JSON.stringify(event, null, 2) : JSON.stringify(event);
    const signature = `sha256=${createHmac("sha256", Buffer.from(options.secret ?? this.webhookSecret, "utf8")).update(signed).digest("hex")}`;
    let body = signed;
    if (options.reserialize) body = JSON.stringify(JSON.parse(signed));
    if (options.tamper) body = options.tamper(body);
    return this.deliver(body, {
      "content-type": "application/json",
      "user-agent": "BTCPayServer",
      ...(options.omitSignature ? {} : { "BTCPay-Sig": signature }),
    });
  }
}
