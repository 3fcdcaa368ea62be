/**
 * The `evm` provider: self-custodial checkout on EVM chains with no third party. Each session gets its own
 * deposit address derived from the merchant's xpub (the bridge never holds a private key); the amount is
 * locked in the token's smallest unit at session creation; the chain watcher (watcher.ts) credits what
 * arrives. See docs/evm.md.
 */
import { sql } from "kysely";
import { getAddress, type Address } from "viem";
import {
  ProviderRequestError,
  WebhookVerificationError,
  type PaymentProvider,
} from "../types.ts";
import { formatTokenUnits, paymentUri, tokenUnitsFor } from "./amounts.ts";
import { evmCredentialsSchema, evmSettingsSchema, findAsset, type EvmCredentials, type EvmSettings } from "./config.ts";
import { depositAddress, xpubId, xpubProblem } from "./derive.ts";
import { evmPageRoutes } from "./page.ts";
import { configuredRates, describeRate, RateUnavailableError, type RateSource } from "./rates.ts";
import { rpcClient } from "./rpc.ts";
import { evmDb, isUniqueViolation } from "./tables.ts";

export { startEvmWatcher, runWatcherOnce } from "./watcher.ts";
export { paymentUri } from "./amounts.ts";
export { createEvmChainVerifier, chainVerifierFromEnv } from "./chain-verifier.ts";

export interface EvmProviderOptions {
  rateSource?: RateSource;
}

export function createEvmProvider(options: EvmProviderOptions = {}): PaymentProvider<EvmCredentials, EvmSettings> {
  const rates = options.rateSource ?? configuredRates;
  return {
    name: "evm",
    displayName: "EVM (self-custodial)",
    credentialsSchema: evmCredentialsSchema.superRefine((c, ctx) => {
      const problem = xpubProblem(c.xpub);
      if (problem) ctx.addIssue({ code: "custom", path: ["xpub"], message: problem });
    }),
    settingsSchema: evmSettingsSchema,
    // No platform sends webhooks: the bridge reads the chain itself.
    webhookTrust: "signed",

    async createSession(session, ctx) {
      const db = ctx.db;
      if (!db) throw new ProviderRequestError("the evm provider needs the bridge database", false);
      const kysely = evmDb(db.kysely);
      const existing = await kysely.selectFrom("evm_deposits").selectAll().where("session_id", "=", session.id).executeTakeFirst();
      if (existing) return describeDeposit(existing.session_id, ctx.publicUrl, ctx.connectionId, await dataFor(existing.session_id));

      const wanted = session.metadata.evm_asset && findAsset(ctx.settings.chains, session.metadata.evm_asset) ? session.metadata.evm_asset : ctx.settings.defaultAsset;
      const { chain, asset } = findAsset(ctx.settings.chains, wanted)!;
      const nowMs = ctx.now().getTime();
      let rate;
      try {
        rate = await rates.quote(asset, chain, session.currency, ctx.settings.chains, nowMs);
      } catch (err) {
        throw new ProviderRequestError(`no ${asset.symbol} price: ${(err as Error).message}`, !(err instanceof RateUnavailableError));
      }
      const dueUnits = tokenUnitsFor(session.amountMinor, session.currencyExponent, asset.decimals, rate.price);
      let fromBlock: number | null = null;
      try {
        fromBlock = Number(await rpcClient(chain.rpcUrl).getBlockNumber({ cacheTime: 0 }));
      } catch {
        // The watcher's cursor still covers it; the start block is only a lower bound for a fresh cursor.
      }

      const xid = xpubId(ctx.credentials.xpub);
      const graceMs = ctx.settings.graceMinutes * 60_000;
      for (let attempt = 0; attempt < 20; attempt++) {
        const { next } = await kysely
          .selectFrom("evm_deposits")
          .select(sql<number | null>`max(derivation_index)`.as("next"))
          .where("xpub_id", "=", xid)
          .executeTakeFirstOrThrow();
        const index = next === null ? 0 : Number(next) + 1 + (attempt > 3 ? Math.floor(Math.random() * attempt) : 0);
        const address = depositAddress(ctx.credentials.xpub, index);
        try {
          await kysely
            .insertInto("evm_deposits")
            .values({
              session_id: session.id,
              connection_id: ctx.connectionId,
              xpub_id: xid,
              derivation_index: index,
              chain_id: String(chain.chainId),
              address: address.toLowerCase(),
              asset_kind: asset.kind,
              token_address: asset.address?.toLowerCase() ?? null,
              symbol: asset.symbol,
              decimals: asset.decimals,
              amount_due_units: dueUnits.toString(),
              fiat_currency: session.currency,
              fiat_amount_minor: session.amountMinor.toString(),
              rate_json: JSON.stringify(describeRate(rate)),
              confirmations: chain.confirmations,
              from_block: fromBlock,
              expires_at: session.expiresAt.getTime(),
              watch_until: session.expiresAt.getTime() + graceMs + ctx.settings.lateWatchHours * 3_600_000,
              created_at: nowMs,
            })
            .execute();
        } catch (err) {
          if (isUniqueViolation(err)) continue; // another session took this index (or this session raced itself)
          throw err;
        }
        return describeDeposit(session.id, ctx.publicUrl, ctx.connectionId, await dataFor(session.id));
      }
      throw new ProviderRequestError("could not allocate a deposit address", true);

      async function dataFor(sessionId: string): Promise<Record<string, unknown>> {
        const d = await kysely.selectFrom("evm_deposits").selectAll().where("session_id", "=", sessionId).executeTakeFirstOrThrow();
        const found = findAsset(ctx.settings.chains, `${d.chain_id}:${d.token_address ?? "native"}`);
        const units = BigInt(d.amount_due_units);
        const to = depositAddress(ctx.credentials.xpub, d.derivation_index);
        return {
          chainId: Number(d.chain_id),
          chainName: found?.chain.name ?? d.chain_id,
          asset: { kind: d.asset_kind, symbol: d.symbol, decimals: d.decimals, ...(d.token_address ? { address: getAddress(d.token_address) } : {}) },
          depositAddress: to,
          derivationIndex: d.derivation_index,
          amountUnits: d.amount_due_units,
          amountDisplay: formatTokenUnits(units, d.decimals),
          rate: JSON.parse(d.rate_json) as unknown,
          confirmations: d.confirmations,
          paymentUri: paymentUri(Number(d.chain_id), to, { kind: d.asset_kind as "native" | "erc20", address: d.token_address ? getAddress(d.token_address) : undefined }, units),
          ...(found?.chain.explorerTxUrl ? { explorerTxUrl: found.chain.explorerTxUrl } : {}),
        };
      }
    },

    async verifyWebhook() {
      throw new WebhookVerificationError("bad_signature", "the evm provider receives no webhooks; it reads the chain");
    },

    routes(host) {
      return evmPageRoutes(host);
    },
  };
}

function describeDeposit(sessionId: string, publicUrl: string, connectionId: string, providerData: Record<string, unknown>) {
  const providerSessionId = `evm_${sessionId}`;
  return { providerSessionId, checkoutUrl: `${publicUrl}/p/evm/checkout/${connectionId}/${providerSessionId}`, providerData };
}

/** The provider with the configured rate sources (static prices, Chainlink feeds, stablecoins at par). */
export const evmProvider = createEvmProvider();

