/**
 * An open-loop load at a fixed rate, for "p99 at N requests/s". autocannon's `overallRate` sends each
 * connection's share of a second back to back at the start of the second and then waits, so it measures
 * bursts at full speed; a shop's checkouts arrive spread out. Here request i is due at start + i/rate
 * whatever happened before, and its latency runs from when it was due (a slow answer delays nothing else,
 * and time spent waiting for a free connection counts: no coordinated omission). The first second runs at the
 * same rate and is not counted (its p99 is reported apart): it opens the connections, and in it the first
 * requests wait for TCP handshakes and new sockets, which a shop's steady traffic on kept-alive connections does not.
 */
import { Agent, request } from "node:http";

export interface PacedRequest {
  path: string;
  method: "POST" | "GET";
  headers: Record<string, string>;
  body?: string;
}

export interface PacedResult {
  sent: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 of the uncounted warm-up second, while the connections open: shown, not part of the result. */
  warmupP99: number;
}

export async function pacedLoad(options: {
  url: string;
  ratePerSecond: number;
  seconds: number;
  /** Sent first at the same rate on the same connections and not counted: the sockets are open and warm. */
  warmupSeconds?: number;
  next: () => PacedRequest;
  maxSockets?: number;
}): Promise<PacedResult> {
  const base = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const warmup = Math.round(options.ratePerSecond * (options.warmupSeconds ?? 1));
  const total = warmup + Math.round(options.ratePerSecond * options.seconds);
  const intervalMs = 1000 / options.ratePerSecond;
  const latencies: number[] = [];
  const warmupLatencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();

  const fire = (dueAt: number, counted: boolean) =>
    new Promise<void>((resolve) => {
      const spec = options.next();
      const req = request(
        { host: base.hostname, port: base.port, path: spec.path, method: spec.method, headers: spec.headers, agent },
        (res) => {
          res.resume();
          res.on("end", () => {
            (counted ? latencies : warmupLatencies).push(performance.now() - dueAt);
            if (!counted) return resolve();
            if (!res.statusCode || res.statusCode >= 300) non2xx++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        if (counted) errors++;
        resolve();
      });
      req.end(spec.body);
    });

  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Everything due by now goes out now; a late timer fires a catch-up batch, stamped with their due times.
    while (i < total && start + i * intervalMs <= now) {
      inFlight.push(fire(start + i * intervalMs, i >= warmup));
      i++;
    }
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inFlight);
  agent.destroy();

  const quantile = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
  };
  return {
    sent: total - warmup, non2xx, errors,
    p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: quantile(latencies, 1),
    warmupP99: quantile(warmupLatencies, 0.99),
  };
}
