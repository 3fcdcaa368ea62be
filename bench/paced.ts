/**
 * An open-loop load at a fixed rate, for "p99 at N requests/s". autocannon's `overallRate` sends each
 * connection's share of a second back to back at the start of the second and then waits, so it measures
 * bursts at full speed; a shop's checkouts arrive spread out. Here request i is due at start + i/rate
 * whatever happened before, and its latency runs from when it was due (a slow answer delays nothing else,
 * and time spent waiting for a free connection counts: no coordinated omission).
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
}

export async function pacedLoad(options: {
  url: string;
  ratePerSecond: number;
  seconds: number;
  next: () => PacedRequest;
  maxSockets?: number;
}): Promise<PacedResult> {
  const base = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const total = Math.round(options.ratePerSecond * options.seconds);
  const intervalMs = 1000 / options.ratePerSecond;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();

  const fire = (dueAt: number) =>
    new Promise<void>((resolve) => {
      const spec = options.next();
      const req = request(
        { host: base.hostname, port: base.port, path: spec.path, method: spec.method, headers: spec.headers, agent },
        (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - dueAt);
            if (!res.statusCode || res.statusCode >= 300) non2xx++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(spec.body);
    });

  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Everything due by now goes out now; a late timer fires a catch-up batch, stamped with their due times.
    while (i < total && start + i * intervalMs <= now) {
      inFlight.push(fire(start + i * intervalMs));
      i++;
    }
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inFlight);
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 10) / 10;
  return { sent: total, non2xx, errors, p50: at(0.5), p99: at(0.99), max: at(1) };
}
