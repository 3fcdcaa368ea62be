/**
 * The chain watcher: polls each configured chain over HTTP, records transfers to open sessions' deposit
 * addresses, counts confirmations, re-reads the block before crediting, and applies the outcome through the
 * core (applyPaymentObservation). One bridge process watches a chain at a time (a lease in
 * `worker_leases`, whose `cursor_json` holds the next block to read); any other takes over when the holder
 * stops renewing. A credit is unique per (chain, tx hash, log index), so overlapping watchers never count
 * a transfer twice.
 *
 * Cost per pass: one eth_blockNumber, one eth_getLogs per watched token and per 500 deposit addresses
 * (the `to` topic filter, so the node returns only our transfers however busy the token; a refused query
 * is split in halves of the block range), one eth_getBlock per block only when some session wants the
 * native coin, two block-hash reads to notice a reorg under the cursor (more, up to 32, to walk back a
 * deep one), plus per-payment reads (block time, receipt, the re-read before settling). The lease is
 * renewed after every answered getLogs chunk and checked before anything is written.
 */
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { formatLog, getAddress, pad, parseEventLogs, toEventSelector, toHex, type Address, type Hash, type PublicClient } from "viem";
import type { BridgeDeps } from "../../src/deps.ts";
import type { SessionStatus } from "../../src/domain/session-status.ts";
import { applyPaymentObservation } from "../../src/usecases/apply-payment.ts";
import { resolveConnection } from "../../src/usecases/connections.ts";
import { fiatMinorForPaid } from "./amounts.ts";
import { evmSettingsSchema, explorerLink, type ChainConfig, type EvmSettings } from "./config.ts";
import { rpcClient, transferEvent } from "./rpc.ts";
import { evmDb, isUniqueViolation, type EvmDatabase, type EvmTransfersTable } from "./tables.ts";

export interface WatcherOptions {
  /** This process's name in the lease table. */
  owner?: string;
  /** How long a lease lasts without renewal; another process takes over after that. */
  leaseMs?: number;
  /** Pause between passes (default: half the shortest block time of the chains watched). */
  intervalMs?: number;
  /** RPC client per URL (tests and the benchmark count calls through it). */
  client?: (rpcUrl: string) => PublicClient;
}

export interface PassStats {
  chains: number;
  blocks: number;
  seen: number;
  confirmed: number;
  dropped: number;
  /** Chains whose pass failed (RPC errors); retried on the next pass. */
  failed: number[];
  /** Chains whose lease another process took during the pass (nothing was written after that). */
  lost: number[];
  /** The shortest block time among the chains watched (the loop polls at half of it). */
  blockTimeMs?: number;
}

interface WatchedChain {
  chainId: number;
  config: ChainConfig;
  settingsByConnection: Map<string, EvmSettings>;
}

export interface Cursor {
  /** The next block to read. */
  next?: number;
  /** The hash block `next - 1` had when it was read: a different one now means a reorg under the cursor. */
  hash?: string;
  /** The chain head seen by the last pass (the `cartbridge_watcher_lag_blocks` metric is `head + 1 - next`). */
  head?: number;
  /**
   * Earlier (block number, hash) pairs read, oldest first, at most `checkpointCount`: after a reorg the
   * watcher walks back through them to the newest one the chain still agrees with, however deep.
   */
  checkpoints?: [number, string][];
}

/** How far back a reorg can be followed (in passes): bounds the walk to this many block reads. */
const checkpointCount = 32;
/** Recipients per eth_getLogs call: a topic filter long enough to be cheap, short enough for any RPC. */
const addressesPerCall = 500;

/** Thrown when another process took the chain's lease during this pass: stop before writing anything. */
export class LeaseLostError extends Error {
  constructor(name: string) {
    super(`lease ${name} was taken over by another process`);
  }
}

type Db = Kysely<EvmDatabase>;

/** The chains named by enabled `evm` connections, one entry per chain id (the first connection's RPC). */
async function watchedChains(deps: BridgeDeps): Promise<WatchedChain[]> {
  const rows = await deps.db.kysely.selectFrom("provider_connections").select("id").where("provider", "=", "evm").where("disabled_at", "is", null).execute();
  const chains = new Map<number, WatchedChain>();
  for (const { id } of rows) {
    const resolved = await resolveConnection(deps, id);
    if (!resolved) continue;
    const settings = evmSettingsSchema.parse(resolved.ctx.settings);
    for (const chain of settings.chains) {
      let entry = chains.get(chain.chainId);
      if (!entry) chains.set(chain.chainId, (entry = { chainId: chain.chainId, config: chain, settingsByConnection: new Map() }));
      entry.settingsByConnection.set(id, settings);
    }
  }
  return [...chains.values()];
}

export async function acquireLease(db: Db, name: string, owner: string, nowMs: number, leaseMs: number): Promise<Cursor | undefined> {
  try {
    await db.insertInto("worker_leases").values({ name, owner, lease_until: nowMs + leaseMs, cursor_json: "{}" }).execute();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const result = await db
    .updateTable("worker_leases")
    .set({ owner, lease_until: nowMs + leaseMs })
    .where("name", "=", name)
    .where((eb) => eb.or([eb("owner", "=", owner), eb("lease_until", "<", nowMs)]))
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return undefined;
  const row = await db.selectFrom("worker_leases").select(["owner", "cursor_json"]).where("name", "=", name).executeTakeFirst();
  if (row?.owner !== owner) return undefined;
  return JSON.parse(row.cursor_json) as Cursor;
}

/** Extends the lease; false when another process holds it now. */
async function renewLease(db: Db, name: string, owner: string, nowMs: number, leaseMs: number): Promise<boolean> {
  const result = await db.updateTable("worker_leases").set({ lease_until: nowMs + leaseMs }).where("name", "=", name).where("owner", "=", owner).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

async function saveCursor(db: Db, name: string, owner: string, cursor: Cursor): Promise<boolean> {
  const result = await db.updateTable("worker_leases").set({ cursor_json: JSON.stringify(cursor) }).where("name", "=", name).where("owner", "=", owner).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

async function releaseLeases(db: Db, owner: string): Promise<void> {
  await db.updateTable("worker_leases").set({ lease_until: 0 }).where("owner", "=", owner).where("name", "like", "evm:%").execute();
}

export const leaseName = (chainId: number) => `evm:${chainId}`;

/** One pass over every chain this process holds (or can take) the lease for. */
export async function runWatcherOnce(deps: BridgeDeps, options: WatcherOptions = {}): Promise<PassStats> {
  const owner = options.owner ?? defaultOwner;
  const leaseMs = options.leaseMs ?? 30_000;
  const db = evmDb(deps.db.kysely);
  const stats: PassStats = { chains: 0, blocks: 0, seen: 0, confirmed: 0, dropped: 0, failed: [], lost: [] };
  for (const chain of await watchedChains(deps)) {
    stats.blockTimeMs = Math.min(stats.blockTimeMs ?? Infinity, chain.config.blockTimeMs);
    const name = leaseName(chain.chainId);
    const cursor = await acquireLease(db, name, owner, deps.clock().getTime(), leaseMs);
    if (!cursor) continue;
    stats.chains++;
    const keepLease = async () => {
      if (!(await renewLease(db, name, owner, deps.clock().getTime(), leaseMs))) throw new LeaseLostError(name);
    };
    try {
      const client = (options.client ?? rpcClient)(chain.config.rpcUrl);
      await watchChain(deps, db, chain, client, cursor, owner, stats, keepLease);
    } catch (err) {
      if (err instanceof LeaseLostError) {
        stats.lost.push(chain.chainId);
        deps.logger.info("evm watcher: lease taken over mid-pass", { chainId: chain.chainId });
        continue;
      }
      // One chain's RPC being down must not stop the others; this chain resumes from its cursor.
      stats.failed.push(chain.chainId);
      deps.logger.warn("evm watcher: chain pass failed", { chainId: chain.chainId, err });
    }
  }
  return stats;
}

async function watchChain(
  deps: BridgeDeps, db: Db, chain: WatchedChain, client: PublicClient, cursor: Cursor, owner: string, stats: PassStats,
  keepLease: () => Promise<void>,
) {
  const chainId = String(chain.chainId);
  // The head is read before the deposits: a deposit created after this read was given out after this
  // block, so nothing paid to it can be in the range scanned now.
  const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
  const nowMs = deps.clock().getTime();
  // Polling faster than blocks come is the normal case: with no new block, only confirmations are checked.
  const deposits = cursor.next === head + 1 ? [] : await db
    .selectFrom("evm_deposits")
    .innerJoin("checkout_sessions", "checkout_sessions.id", "evm_deposits.session_id")
    .select(["evm_deposits.session_id", "evm_deposits.address", "evm_deposits.asset_kind", "evm_deposits.token_address", "evm_deposits.from_block"])
    .where("evm_deposits.chain_id", "=", chainId)
    .where("evm_deposits.watch_until", ">", nowMs)
    .execute();

  const maxBlocks = Math.min(...[...chain.settingsByConnection.values()].map((s) => s.maxBlocksPerPass));
  const fresh = deposits.reduce((min, d) => (d.from_block !== null && Number(d.from_block) < min ? Number(d.from_block) : min), head + 1);
  let from = cursor.next ?? fresh;
  let checkpoints = checkpointsOf(cursor);
  const newest = checkpoints.at(-1);
  if (deposits.length > 0 && cursor.next !== undefined && newest) {
    // Blocks already read were replaced (the chain is now shorter, or the last block read has another
    // hash): read again from the newest block the chain still agrees with.
    const replaced = newest[0] > head || (await blockHash(client, newest[0])) !== newest[1];
    if (replaced) {
      from = await agreedPoint(client, checkpoints, head, chain.config.confirmations);
      checkpoints = checkpoints.filter(([n]) => n < from);
    }
  } else if (deposits.length > 0 && cursor.next !== undefined && cursor.next - 1 > head) {
    from = Math.max(0, head - chain.config.confirmations);
  }
  const to = Math.min(head, from + maxBlocks - 1);
  const hashes = new Map<number, string>();

  if (from <= to && deposits.length > 0) {
    const byAddress = new Map(deposits.map((d) => [d.address, d]));
    const tokens = new Set(deposits.filter((d) => d.asset_kind === "erc20").map((d) => d.token_address!));
    const found: Omit<EvmTransfersTable, "id" | "state" | "seen_at" | "confirmed_at" | "block_time">[] = [];

    for (const token of tokens) {
      const recipients = deposits.filter((d) => d.token_address === token).map((d) => d.address);
      for (let i = 0; i < recipients.length; i += addressesPerCall) {
        const logs = await transferLogs(client, getAddress(token), recipients.slice(i, i + addressesPerCall), from, to, keepLease);
        for (const log of logs) {
          if (log.removed || log.blockHash === null || log.transactionHash === null || log.logIndex === null) continue;
          const deposit = byAddress.get(log.args.to.toLowerCase());
          if (!deposit || deposit.token_address !== log.address.toLowerCase() || log.args.value === 0n) continue;
          found.push({
            chain_id: chainId, tx_hash: log.transactionHash, log_index: log.logIndex, session_id: deposit.session_id,
            to_address: deposit.address, token_address: deposit.token_address, amount_units: log.args.value.toString(),
            block_number: Number(log.blockNumber), block_hash: log.blockHash,
          });
        }
      }
    }
    const blockTimes = new Map<string, number>();
    if (deposits.some((d) => d.asset_kind === "native")) {
      for (let n = from; n <= to; n++) {
        if ((n - from) % 50 === 49) await keepLease();
        const block = await client.getBlock({ blockNumber: BigInt(n), includeTransactions: true });
        blockTimes.set(block.hash!, Number(block.timestamp) * 1000);
        hashes.set(n, block.hash!);
        for (const tx of block.transactions) {
          const deposit = tx.to ? byAddress.get(tx.to.toLowerCase()) : undefined;
          if (!deposit || deposit.asset_kind !== "native" || tx.value === 0n) continue;
          // A reverted transaction still sits in the block with its value: only a successful one pays.
          const receipt = await client.getTransactionReceipt({ hash: tx.hash });
          if (receipt.status !== "success") continue;
          found.push({
            chain_id: chainId, tx_hash: tx.hash, log_index: -1, session_id: deposit.session_id,
            to_address: deposit.address, token_address: null, amount_units: tx.value.toString(),
            block_number: n, block_hash: block.hash!,
          });
        }
      }
    }
    for (const transfer of found) {
      if (blockTimes.has(transfer.block_hash)) continue;
      blockTimes.set(transfer.block_hash, Number((await client.getBlock({ blockHash: transfer.block_hash as Hash })).timestamp) * 1000);
    }
    // Only the lease holder writes what it read: a process that lost the chain mid-pass stops here.
    await keepLease();
    for (const transfer of found) {
      const blockTime = blockTimes.get(transfer.block_hash)!;
      if (await recordTransfer(db, { ...transfer, block_time: blockTime }, deps.clock().getTime())) {
        stats.seen++;
        await applyPaymentObservation(deps, transfer.session_id, {
          outcome: "processing",
          transactions: [txRef(chain.config, transfer.tx_hash, transfer.token_address)],
          paymentReference: reference(transfer),
          occurredAt: new Date(blockTime),
          providerStatus: "seen",
          source: "chain",
        });
      }
    }
    stats.blocks += to - from + 1;
  }
  const scanned = from <= to && deposits.length > 0;
  let next = scanned ? to + 1 : Math.max(from, head + 1);
  if (scanned) checkpoints = [...checkpoints, [to, hashes.get(to) ?? (await blockHash(client, to))]];
  else if (next !== cursor.next) checkpoints = []; // nothing read that a reorg could undo

  // Confirmations: a transfer is credited only once its block is deep enough AND still the canonical block.
  const pending = await db.selectFrom("evm_transfers").selectAll().where("chain_id", "=", chainId).where("state", "=", "seen")
    .orderBy("block_number").orderBy("log_index").execute();
  const canonical = new Map<number, string>();
  await keepLease();
  for (const transfer of pending) {
    const deposit = await db.selectFrom("evm_deposits").select("confirmations").where("session_id", "=", transfer.session_id).executeTakeFirst();
    const required = deposit?.confirmations ?? chain.config.confirmations;
    const depth = head - Number(transfer.block_number) + 1;
    if (depth < required) continue;
    let hash = canonical.get(Number(transfer.block_number));
    if (hash === undefined) {
      hash = await blockHash(client, Number(transfer.block_number));
      canonical.set(Number(transfer.block_number), hash);
    }
    const settledAt = deps.clock().getTime();
    if (hash !== transfer.block_hash) {
      // Reorged out. Dropped here; if the transaction was mined again elsewhere, the rescan from its old
      // block number finds it in its new block (a new row, or this one revived for a native transfer).
      await db.updateTable("evm_transfers").set({ state: "dropped", confirmed_at: settledAt }).where("id", "=", transfer.id).where("state", "=", "seen").execute();
      stats.dropped++;
      if (Number(transfer.block_number) < next) {
        next = Number(transfer.block_number);
        checkpoints = checkpoints.filter(([n]) => n < next);
      }
      continue;
    }
    const result = await db.updateTable("evm_transfers").set({ state: "confirmed", confirmed_at: settledAt }).where("id", "=", transfer.id).where("state", "=", "seen").executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) stats.confirmed++;
  }
  await keepLease();
  await creditConfirmed(deps, db, chain);
  await expireAbandoned(deps, db, chainId, chain);
  checkpoints = checkpoints.slice(-checkpointCount);
  const last = checkpoints.at(-1);
  await saveCursor(db, leaseName(chain.chainId), owner, {
    next, head,
    ...(last && last[0] === next - 1 ? { hash: last[1] } : {}),
    ...(checkpoints.length ? { checkpoints } : {}),
  });
}

async function blockHash(client: PublicClient, n: number): Promise<string> {
  return (await client.getBlock({ blockNumber: BigInt(n) })).hash!;
}

/** The checkpoints of a cursor, including the single hash older cursors kept. */
function checkpointsOf(cursor: Cursor): [number, string][] {
  if (cursor.checkpoints?.length) return cursor.checkpoints;
  return cursor.next !== undefined && cursor.hash ? [[cursor.next - 1, cursor.hash]] : [];
}

/**
 * Where to read again after a reorg: just after the newest checkpoint whose block the chain still has
 * (a reorg deeper than `confirmations` is rare but real, and rewinding a fixed depth could skip blocks).
 * Past every checkpoint, the oldest one less `confirmations` blocks: the deepest point this watcher knows.
 */
async function agreedPoint(client: PublicClient, checkpoints: [number, string][], head: number, confirmations: number): Promise<number> {
  for (const [n, hash] of [...checkpoints].reverse()) {
    if (n <= head && (await blockHash(client, n)) === hash) return n + 1;
  }
  return Math.max(0, Math.min(head, checkpoints[0]![0]) - confirmations);
}

/**
 * The token's Transfer logs to `recipients` over [from, to]. An RPC that refuses the query (too many
 * results, too wide a range) gets the two halves instead, down to single blocks, so one busy token
 * cannot stall the watcher; the lease is renewed after each answered chunk.
 */
async function transferLogs(
  client: PublicClient, token: Address, recipients: string[], from: number, to: number, keepLease: () => Promise<void>,
): Promise<TransferLogs> {
  try {
    const logs = await getTransferLogs(client, token, recipients, from, to);
    await keepLease();
    return logs;
  } catch (err) {
    if (from >= to || !isRangeRefusal(err)) throw err;
    const mid = from + Math.floor((to - from) / 2);
    const lower = await transferLogs(client, token, recipients, from, mid, keepLease);
    return [...lower, ...(await transferLogs(client, token, recipients, mid + 1, to, keepLease))];
  }
}

const transferTopic = toEventSelector(transferEvent);

/**
 * eth_getLogs for Transfer events of `token` to `recipients` (lower-case). The topic filter is written
 * out by hand: viem's `args` encoding checksums every address (a keccak each), which at 10,000 open
 * sessions cost most of a pass's CPU; only the few matching logs are decoded.
 */
async function getTransferLogs(client: PublicClient, token: Address, recipients: string[], from: number, to: number) {
  const raw = await client.request({
    method: "eth_getLogs",
    params: [{ address: token, topics: [transferTopic, null, recipients.map((a) => pad(a as Address, { size: 32 }))], fromBlock: toHex(from), toBlock: toHex(to) }],
  });
  return parseEventLogs({ abi: [transferEvent], logs: raw.map((log) => formatLog(log)), eventName: "Transfer", strict: true });
}
type TransferLogs = Awaited<ReturnType<typeof getTransferLogs>>;

/** Whether an RPC error means "ask for less" (providers word it differently; -32005 is EIP-1474's limit). */
export function isRangeRefusal(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; details?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (e.code === -32005) return true;
    const text = `${typeof e.message === "string" ? e.message : ""} ${typeof e.details === "string" ? e.details : ""}`;
    if (/too many|limit exceeded|more than \d+ (results|logs)|response size|block range|range (is )?too (large|wide)|exceed/i.test(text)) return true;
  }
  return false;
}

/** Inserts a newly seen transfer; a dropped one seen again (re-mined) is revived. False when already known. */
async function recordTransfer(db: Db, transfer: Omit<EvmTransfersTable, "id" | "state" | "seen_at" | "confirmed_at">, nowMs: number): Promise<boolean> {
  try {
    await db.insertInto("evm_transfers").values({ id: `evtx_${randomBytes(12).toString("hex")}`, state: "seen", seen_at: nowMs, confirmed_at: null, ...transfer }).execute();
    return true;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const revived = await db
    .updateTable("evm_transfers")
    .set({ state: "seen", block_number: transfer.block_number, block_hash: transfer.block_hash, block_time: transfer.block_time, confirmed_at: null })
    .where("chain_id", "=", transfer.chain_id).where("tx_hash", "=", transfer.tx_hash).where("log_index", "=", transfer.log_index)
    .where("state", "=", "dropped")
    .executeTakeFirst();
  return Number(revived.numUpdatedRows) === 1;
}

/**
 * Applies confirmed transfers to their sessions, in block order, each with the session's running total
 * converted to fiat at the rate locked at creation, then marks them `credited`. A crash in between leaves
 * them `confirmed` and the next pass applies them again, which the core treats as a no-op; a stale total
 * from an overlapping watcher is harmless too, since a session's paid amount never goes down.
 */
async function creditConfirmed(deps: BridgeDeps, db: Db, chain: WatchedChain) {
  const chainId = String(chain.chainId);
  const waiting = await db.selectFrom("evm_transfers").selectAll().where("chain_id", "=", chainId).where("state", "=", "confirmed")
    .orderBy("block_number").orderBy("log_index").execute();
  const bySession = new Map<string, EvmTransfersTable[]>();
  for (const t of waiting) bySession.set(t.session_id, [...(bySession.get(t.session_id) ?? []), t]);
  for (const [sessionId, transfers] of bySession) {
    const deposit = await db.selectFrom("evm_deposits").selectAll().where("session_id", "=", sessionId).executeTakeFirstOrThrow();
    // Every counted transfer of the session, read once: a transfer's running total is the sum up to it in
    // block order, whichever watcher computes it and whatever it has marked `credited` meanwhile.
    const counted = await db.selectFrom("evm_transfers").select(["id", "amount_units"]).where("session_id", "=", sessionId)
      .where("state", "in", ["confirmed", "credited"]).orderBy("block_number").orderBy("log_index").execute();
    const settings = chain.settingsByConnection.get(deposit.connection_id);
    for (const transfer of transfers) {
      const position = counted.findIndex((t) => t.id === transfer.id);
      if (position < 0) continue;
      const paidUnits = counted.slice(0, position + 1).reduce((sum, t) => sum + BigInt(t.amount_units), 0n);
      await applyPaymentObservation(deps, sessionId, {
        outcome: "paid", // decide() derives paid / overpaid / underpaid / paid_late from the amount and the time
        amountPaidMinor: fiatMinorForPaid(paidUnits, BigInt(deposit.amount_due_units), BigInt(deposit.fiat_amount_minor)),
        currency: deposit.fiat_currency,
        transactions: [txRef(chain.config, transfer.tx_hash, transfer.token_address)],
        paymentReference: reference(transfer),
        occurredAt: new Date(Number(transfer.block_time)),
        providerStatus: `confirmed:${paidUnits}/${deposit.amount_due_units} ${deposit.symbol}`,
        source: "chain",
        ...(settings ? { graceMs: settings.graceMinutes * 60_000 } : {}),
      });
      await db.updateTable("evm_transfers").set({ state: "credited" }).where("id", "=", transfer.id).where("state", "=", "confirmed").execute();
    }
    await recordPaidUnits(db, sessionId, counted.reduce((sum, t) => sum + BigInt(t.amount_units), 0n));
  }
}

/**
 * Keeps the session's credited token total in its provider data, where the hosted page reads it to ask
 * for exactly the rest (the session itself only knows the fiat equivalent, rounded).
 */
async function recordPaidUnits(db: Db, sessionId: string, paidUnits: bigint) {
  const row = await db.selectFrom("checkout_sessions").select("provider_data_json").where("id", "=", sessionId).executeTakeFirst();
  if (!row) return;
  const data = JSON.parse(row.provider_data_json) as Record<string, unknown>;
  // A total only grows: an overlapping watcher with an older view must not lower it.
  if (typeof data.paidUnits === "string" && BigInt(data.paidUnits) >= paidUnits) return;
  await db.updateTable("checkout_sessions").set({ provider_data_json: JSON.stringify({ ...data, paidUnits: paidUnits.toString() }) })
    .where("id", "=", sessionId).where("provider_data_json", "=", row.provider_data_json).execute();
}

/**
 * A session left `processing` by a transfer that was then reorged away would never end (the core's
 * sweeper only expires `open` sessions): once past expiry + grace with nothing seen or credited, expire it.
 */
async function expireAbandoned(deps: BridgeDeps, db: Db, chainId: string, chain: WatchedChain) {
  const nowMs = deps.clock().getTime();
  const stuck = await db
    .selectFrom("evm_deposits")
    .innerJoin("checkout_sessions", "checkout_sessions.id", "evm_deposits.session_id")
    .select(["evm_deposits.session_id", "evm_deposits.connection_id", "evm_deposits.expires_at"])
    .where("evm_deposits.chain_id", "=", chainId)
    .where("checkout_sessions.status", "=", "processing" satisfies SessionStatus)
    .where("evm_deposits.expires_at", "<", nowMs)
    .limit(100)
    .execute();
  for (const s of stuck) {
    const graceMs = (chain.settingsByConnection.get(s.connection_id)?.graceMinutes ?? 0) * 60_000;
    if (Number(s.expires_at) + graceMs > nowMs) continue;
    const live = await db.selectFrom("evm_transfers").select("id").where("session_id", "=", s.session_id).where("state", "in", ["seen", "confirmed", "credited"]).executeTakeFirst();
    if (live) continue;
    await applyPaymentObservation(deps, s.session_id, { outcome: "expired", transactions: [], source: "chain", providerStatus: "payment reorged away" });
  }
}

function reference(t: Pick<EvmTransfersTable, "chain_id" | "tx_hash" | "log_index">): string {
  return `evm:${t.chain_id}:${t.tx_hash}:${t.log_index}`;
}

function txRef(chain: ChainConfig, hash: string, token: string | null) {
  const explorerUrl = explorerLink(chain, hash);
  return { hash, chainId: String(chain.chainId), asset: token ?? "native", ...(explorerUrl ? { explorerUrl } : {}) };
}

const defaultOwner = `evm-${process.pid}-${randomBytes(4).toString("hex")}`;

/**
 * The pause between passes when none is configured: half the shortest block time of the chains watched,
 * so a block is seen at most half a block after it is mined without polling a slow chain needlessly;
 * 2 s until the first pass has read the chains.
 */
export function pollIntervalFor(blockTimeMs: number | undefined): number {
  if (blockTimeMs === undefined || !Number.isFinite(blockTimeMs)) return 2_000;
  return Math.min(15_000, Math.max(250, Math.floor(blockTimeMs / 2)));
}

/** Runs passes until stopped; `stop()` waits for the pass in flight and hands the leases back. */
export function startEvmWatcher(deps: BridgeDeps, options: WatcherOptions = {}): { stop(): Promise<void>; owner: string } {
  const owner = options.owner ?? `evm-${process.pid}-${randomBytes(4).toString("hex")}`;
  let intervalMs = options.intervalMs ?? pollIntervalFor(undefined);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    inFlight = runWatcherOnce(deps, { ...options, owner })
      .then((stats) => {
        intervalMs = options.intervalMs ?? pollIntervalFor(stats.blockTimeMs);
      })
      .catch((err: unknown) => deps.logger.error("evm watcher pass failed", { err }))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  timer = setTimeout(loop, 0);
  return {
    owner,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
      await releaseLeases(evmDb(deps.db.kysely), owner);
    },
  };
}
