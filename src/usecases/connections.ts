/**
 * Provider connections: a store's account at a payment platform. Credentials are sealed (JWE) at rest;
 * every connection also gets a secret webhook path token, so its webhook URL is unguessable even on
 * platforms that sign nothing.
 */
import type { AnyPaymentProvider, ProviderContext } from "../../plugins/types.ts";
import { randomToken } from "../crypto/secrets.ts";
import type { ConnectionRow } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import { newId } from "../domain/ids.ts";

interface SealedConnectionSecrets {
  credentials: unknown;
  webhookPathToken: string;
}

export interface ResolvedConnection {
  row: ConnectionRow;
  provider: AnyPaymentProvider;
  ctx: ProviderContext<unknown, unknown>;
  webhookPathToken: string;
}

const cacheTtlMs = 30_000;
const cache = new WeakMap<BridgeDeps, Map<string, { at: number; value: ResolvedConnection }>>();

export function webhookUrlFor(publicUrl: string, row: Pick<ConnectionRow, "id" | "provider">, pathToken: string): string {
  return `${publicUrl}/v1/webhooks/${row.provider}/${row.id}/${pathToken}`;
}

export async function resolveConnection(deps: BridgeDeps, connectionId: string): Promise<ResolvedConnection | undefined> {
  let perDeps = cache.get(deps);
  if (!perDeps) cache.set(deps, (perDeps = new Map()));
  const hit = perDeps.get(connectionId);
  const nowMs = deps.clock().getTime();
  if (hit && nowMs - hit.at < cacheTtlMs) return hit.value;

  const row = await deps.db.kysely
    .selectFrom("provider_connections")
    .selectAll()
    .where("id", "=", connectionId)
    .executeTakeFirst();
  if (!row || row.disabled_at !== null) return undefined;
  const provider = deps.providers.get(row.provider);
  if (!provider) return undefined;
  const sealed = await deps.secrets.open<SealedConnectionSecrets>(row.credentials_enc);
  const value: ResolvedConnection = {
    row,
    provider,
    webhookPathToken: sealed.webhookPathToken,
    ctx: {
      credentials: provider.credentialsSchema.parse(sealed.credentials),
      settings: provider.settingsSchema.parse(JSON.parse(row.settings_json)),
      connectionId: row.id,
      webhookUrl: webhookUrlFor(deps.config.PUBLIC_URL, row, sealed.webhookPathToken),
      publicUrl: deps.config.PUBLIC_URL,
      fetch: withTimeout(deps.providerFetch, deps.config.PROVIDER_REQUEST_TIMEOUT_MS),
      now: deps.clock,
      webhookToleranceSeconds: deps.config.WEBHOOK_TOLERANCE_SECONDS,
      db: deps.db,
    },
  };
  perDeps.set(connectionId, { at: nowMs, value });
  return value;
}

/**
 * Every platform call gets a time limit: a hanging platform must not hold the webhook loop, the sweeper
 * or an API request past the claims and locks that protect them.
 */
export function withTimeout(fetchImpl: typeof fetch, timeoutMs: number): typeof fetch {
  return (input, init) => {
    const limit = AbortSignal.timeout(timeoutMs);
    return fetchImpl(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, limit]) : limit });
  };
}

export class ConnectionInputError extends Error {}

/** Attaches a provider account to a store. Returns the webhook URL to register at the platform. */
export async function addConnection(
  deps: BridgeDeps,
  input: { storeId: string; provider: string; livemode: boolean; credentials: unknown; settings?: unknown },
): Promise<{ id: string; webhookUrl: string }> {
  const provider = deps.providers.get(input.provider);
  if (!provider) {
    throw new ConnectionInputError(
      `unknown provider ${input.provider}; known: ${deps.providers.list().map((p) => p.name).join(", ")}`,
    );
  }
  if (provider.testOnly && input.livemode) {
    throw new ConnectionInputError(`${provider.name} is a test-mode provider and cannot be live`);
  }
  const credentials = provider.credentialsSchema.safeParse(input.credentials ?? {});
  if (!credentials.success) {
    throw new ConnectionInputError(`invalid credentials: ${credentials.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const settings = provider.settingsSchema.safeParse(input.settings ?? {});
  if (!settings.success) {
    throw new ConnectionInputError(`invalid settings: ${settings.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const store = await deps.db.kysely.selectFrom("stores").select("id").where("id", "=", input.storeId).executeTakeFirst();
  if (!store) throw new ConnectionInputError(`no store ${input.storeId}`);

  const id = newId("conn");
  const webhookPathToken = randomToken(18);
  const sealed: SealedConnectionSecrets = { credentials: credentials.data, webhookPathToken };
  await deps.db.kysely
    .insertInto("provider_connections")
    .values({
      id,
      store_id: input.storeId,
      provider: provider.name,
      livemode: input.livemode ? 1 : 0,
      credentials_enc: await deps.secrets.seal(sealed),
      settings_json: JSON.stringify(settings.data ?? {}),
      created_at: deps.clock().getTime(),
      disabled_at: null,
    })
    .execute();
  return { id, webhookUrl: webhookUrlFor(deps.config.PUBLIC_URL, { id, provider: provider.name }, webhookPathToken) };
}

export async function listConnections(deps: BridgeDeps, storeId: string) {
  const rows = await deps.db.kysely
    .selectFrom("provider_connections")
    .selectAll()
    .where("store_id", "=", storeId)
    .orderBy("created_at")
    .execute();
  return Promise.all(
    rows.map(async (row) => {
      const sealed = await deps.secrets.open<SealedConnectionSecrets>(row.credentials_enc);
      return {
        id: row.id,
        provider: row.provider,
        livemode: row.livemode === 1,
        disabled: row.disabled_at !== null,
        settings: JSON.parse(row.settings_json) as unknown,
        webhookUrl: webhookUrlFor(deps.config.PUBLIC_URL, row, sealed.webhookPathToken),
        createdAt: new Date(Number(row.created_at)).toISOString(),
      };
    }),
  );
}
