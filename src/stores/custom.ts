/**
 * The `custom` store adapter: POSTs each update as a Standard Webhooks message (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64>`) to the merchant's endpoint, so a headless shop
 * can use the bridge with a few lines of code (the SDK's `verifyWebhook` checks it).
 */
import { Webhook } from "standardwebhooks";
import { z } from "zod";
import type { DeliveryResult, StoreAdapter, StoreUpdate } from "./port.ts";

export const customStoreCredentials = z.object({
  endpointUrl: z.url(),
  /** `whsec_<base64>`, as Standard Webhooks serializes a symmetric key. */
  signingSecret: z.string().startsWith("whsec_"),
});
export type CustomStoreCredentials = z.infer<typeof customStoreCredentials>;

/** Serializes bigints as decimal strings; the update carries money only as decimal strings anyway. */
export function serializeUpdate(update: StoreUpdate): string {
  return JSON.stringify(update);
}

export const customStoreAdapter: StoreAdapter<CustomStoreCredentials> = {
  platform: "custom",
  credentialsSchema: customStoreCredentials,
  async deliver(update, ctx): Promise<DeliveryResult> {
    const body = serializeUpdate(update);
    const timestamp = ctx.now();
    const signature = new Webhook(ctx.credentials.signingSecret).sign(update.id, timestamp, body);
    let response: Response;
    try {
      response = await ctx.fetch(ctx.credentials.endpointUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "Cartbridge/0.1",
          "webhook-id": update.id,
          "webhook-timestamp": Math.floor(timestamp.getTime() / 1000).toString(),
          "webhook-signature": signature,
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(ctx.timeoutMs),
      });
    } catch (err) {
      return { ok: false, retryable: true, error: `request failed: ${(err as Error).message}` };
    }
    const excerpt = (await response.text().catch(() => "")).slice(0, 500);
    if (response.status >= 200 && response.status < 300) {
      return { ok: true, responseStatus: response.status, responseExcerpt: excerpt };
    }
    // Standard Webhooks: 410 means the endpoint is gone for good; everything else may recover.
    return {
      ok: false,
      retryable: response.status !== 410,
      error: `store answered ${response.status}`,
      responseStatus: response.status,
      responseExcerpt: excerpt,
    };
  },
};
