/**
 * Counts events per key in fixed one-minute windows of the clock, in memory (one process's share). Used by
 * the store API's rate limit and by the budget of rejected webhooks that are written down.
 */
export class MinuteWindows {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** The count of `key` in the current window, without counting anything. */
  count(key: string, nowMs: number): number {
    const w = this.windows.get(key);
    return w && w.start === startOf(nowMs) ? w.count : 0;
  }

  /** When the window that holds `nowMs` ends. */
  static endOf(nowMs: number): number {
    return startOf(nowMs) + 60_000;
  }

  /** Counts one event for `key`; returns the count in the current window and when that window ends. */
  hit(key: string, nowMs: number): { count: number; endsAt: number } {
    const start = startOf(nowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      if (this.windows.size > 10_000) this.windows.clear(); // bounded memory under a flood of made-up keys
      w = { start, count: 0 };
      this.windows.set(key, w);
    }
    return { count: ++w.count, endsAt: start + 60_000 };
  }
}

/** The start of the clock minute that holds `nowMs`. */
function startOf(nowMs: number): number {
  return nowMs - (nowMs % 60_000);
}
