/**
 * The background loops of one bridge process: webhook processing, store-update delivery, the expiry
 * sweeper, the reconciler and pruning. Each loop wakes on its timer or at once when signalled, never
 * runs twice at the same time in one process, and stops cleanly.
 */
import { randomBytes } from "node:crypto";
import type { BridgeDeps, WorkSignals } from "../deps.ts";
import { expireSessions, pruneIdempotencyKeys, pruneWebhookRejections, reconcileSessions } from "../usecases/maintenance.ts";
import { runStoreUpdatesOnce } from "../usecases/store-updates.ts";
import { processDueWebhookEvents } from "../usecases/webhooks.ts";

class Loop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly body: () => Promise<unknown>,
    private readonly onError: (name: string, err: unknown) => void,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Runs as soon as possible; if a run is under way, runs once more after it. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      try {
        await this.body();
      } catch (err) {
        this.onError(this.name, err);
      }
    })();
    await this.running;
    this.running = undefined;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else this.schedule(this.intervalMs);
  }

  /** Resolves when no pass is running (a pass already requested still runs later). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

export class BackgroundWorkers implements WorkSignals {
  readonly workerId = `w_${randomBytes(6).toString("hex")}`;
  private readonly loops: Loop[] = [];
  private readonly webhookLoop: Loop;
  private readonly outboxLoop: Loop;
  private deps: BridgeDeps | undefined;
  private started = false;

  constructor(pollMs: number, private readonly onError: (name: string, err: unknown) => void = () => {}) {
    const d = () => {
      if (!this.deps) throw new Error("workers not attached");
      return this.deps;
    };
    this.webhookLoop = new Loop("webhooks", pollMs, async () => {
      // Bounded: after 100 batches the loop yields and comes back on its timer.
      for (let i = 0; i < 100 && (await processDueWebhookEvents(d())) > 0; i++) { /* drain what is due */ }
    }, onError);
    this.outboxLoop = new Loop("store-updates", pollMs, async () => {
      for (let i = 0; i < 100 && (await runStoreUpdatesOnce(d(), this.workerId)) > 0; i++) { /* drain what is due */ }
    }, onError);
    this.loops.push(
      this.webhookLoop,
      this.outboxLoop,
      new Loop("expiry", Math.max(pollMs, 5_000), () => expireSessions(d()), onError),
      new Loop("reconcile", Math.max(pollMs, 60_000), () => reconcileSessions(d()), onError),
      new Loop("prune", 60 * 60_000, async () => {
        await pruneIdempotencyKeys(d());
        await pruneWebhookRejections(d());
      }, onError),
    );
  }

  attach(deps: BridgeDeps): void {
    this.deps = deps;
  }

  start(): void {
    this.started = true;
    for (const loop of this.loops) loop.start();
  }

  /**
   * A new event wakes the webhook loop at once. The loop works through due events one at a time in the
   * order received, so a burst of webhooks is absorbed by the (cheap) ingestion path and processed
   * behind it, instead of every request spawning its own re-fetch and transaction.
   */
  webhookReceived(_eventRowId: string): void {
    if (this.started) this.webhookLoop.kick();
  }

  storeUpdateQueued(): void {
    if (this.started) this.outboxLoop.kick();
  }

  /** Resolves when the loops that were woken have finished their current pass. */
  async settle(): Promise<void> {
    await Promise.all([this.webhookLoop.idle(), this.outboxLoop.idle()]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.stop()));
  }
}
