/**
 * The store API's request and response shapes. These zod schemas validate requests, type the responses
 * (src/stores/port.ts) and are the single source of the OpenAPI description.
 */
import { z } from "zod";
import { sessionStatuses } from "../domain/session-status.ts";

const decimalString = z
  .string()
  .regex(/^\d{1,30}(\.\d{1,30})?$/, "must be a non-negative decimal string such as \"12.50\"");

const httpUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048);

/** Stripe's limits: 50 keys, keys ≤ 40 characters, values ≤ 500 characters. */
export const metadataSchema = z
  .record(
    z.string().min(1).max(40).regex(/^[A-Za-z0-9_.-]+$/, "keys use letters, digits, _ . -")
      .refine((k) => !k.startsWith("cartbridge_"), "the cartbridge_ prefix is reserved"),
    z.string().max(500),
  )
  .refine((m) => Object.keys(m).length <= 50, "at most 50 keys");

export const lineItemSchema = z.object({
  name: z.string().min(1).max(250),
  quantity: z.number().int().min(1).max(1_000_000),
  unitAmount: decimalString,
  sku: z.string().max(100).optional(),
  imageUrl: httpUrl.optional(),
});

export const createCheckoutSessionSchema = z.object({
  order: z.object({
    id: z.string().min(1).max(191),
    number: z.string().max(191).optional(),
    key: z.string().max(191).optional(),
  }),
  currency: z.string().length(3),
  lineItems: z.array(lineItemSchema).min(1).max(250),
  shippingAmount: decimalString.optional(),
  taxAmount: decimalString.optional(),
  discountAmount: decimalString.optional(),
  amount: decimalString,
  customer: z.object({ email: z.email().max(320) }).optional(),
  metadata: metadataSchema.optional(),
  successUrl: httpUrl,
  cancelUrl: httpUrl,
  provider: z.string().min(1).max(64).optional(),
}).strict();

export type CreateCheckoutSessionInput = z.infer<typeof createCheckoutSessionSchema>;

export const publicPaymentSchema = z.object({
  reference: z.string(),
  status: z.string(),
  amount: z.string().optional(),
  currency: z.string().optional(),
  txHash: z.string().optional(),
  chainId: z.string().optional(),
  explorerUrl: z.string().optional(),
});

export const checkoutSessionSchema = z.object({
  id: z.string(),
  object: z.literal("checkout_session"),
  status: z.enum(sessionStatuses),
  checkoutUrl: z.string(),
  amount: z.string(),
  amountPaid: z.string(),
  currency: z.string(),
  order: z.object({ id: z.string(), number: z.string().optional(), key: z.string().optional() }),
  metadata: z.record(z.string(), z.string()),
  provider: z.string(),
  expiresAt: z.string(),
  createdAt: z.string(),
  livemode: z.boolean(),
  successUrl: z.string(),
  cancelUrl: z.string(),
  customer: z.object({ email: z.string() }).optional(),
  review: z.object({ reason: z.string() }).optional(),
  payments: z.array(publicPaymentSchema),
});

export const errorEnvelopeSchema = z.object({
  error: z.object({
    type: z.string(),
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    requestId: z.string(),
  }),
});

/**
 * The event the bridge POSTs to a `custom` store (signed per Standard Webhooks). `StoreUpdate` in
 * src/stores/port.ts is typed from it; it describes the outbound event in the OpenAPI document and types the SDK's verifier.
 */
export const storeUpdateSchema = z.object({
  /** Stable across retries (also the `webhook-id` header): dedupe on it. */
  id: z.string(),
  type: z.enum(sessionStatuses.map((s) => `checkout_session.${s}` as const)),
  /** Unix seconds. */
  createdAt: z.number().int(),
  session: checkoutSessionSchema,
});

/** Answers of the WooCommerce plugin's store-key routes (src/http/routes/wc-auth.ts); their request bodies are zod schemas there. */
export const wooConnectResponseSchema = z.object({
  /** Where to send the shop admin's browser: WooCommerce's own "approve this app" page. */
  authorizeUrl: z.string(),
  expiresAt: z.string(),
});

export const wooCredentialsResponseSchema = z.object({ ok: z.literal(true), connected: z.literal(true) });

export const wooStatusResponseSchema = z.object({
  connected: z.boolean(),
  url: z.string().nullable(),
  connectedVia: z.enum(["wc-auth", "pasted"]).nullable(),
  /** The last check of pasted keys against the shop (one authenticated read), or null. */
  lastCheck: z.object({ ok: z.boolean(), at: z.string(), error: z.string().optional() }).nullable(),
});
