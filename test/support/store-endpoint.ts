/**
 * A merchant's endpoint for the `custom` store adapter: a real HTTP server on 127.0.0.1 that verifies
 * each Standard Webhooks signature and records what it received. It can be taken down (503) and up.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import type { StoreUpdate } from "../../src/stores/port.ts";

export interface ReceivedUpdate {
  webhookId: string;
  update: StoreUpdate;
}

export class StoreEndpoint {
  readonly received: ReceivedUpdate[] = [];
  readonly badSignatures: number[] = [];
  down = false;
  /** Milliseconds to wait before answering (to hold a delivery in flight). */
  delayMs = 0;
  requests = 0;
  /** Requests whose sender disconnected before the answer. */
  abandoned = 0;
  private server: Server | undefined;
  private waiters: (() => void)[] = [];
  url = "";

  constructor(private signingSecret: string) {}

  setSecret(secret: string): void {
    this.signingSecret = secret;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        this.requests++;
        if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
        // The sender hung up (its process died): nothing was delivered, whatever we would have answered.
        if (req.socket.destroyed) {
          this.abandoned++;
          return;
        }
        if (this.down) {
          res.writeHead(503).end("down for maintenance");
          return;
        }
        const body = Buffer.concat(chunks).toString("utf8");
        try {
          const update = new Webhook(this.signingSecret).verify(body, {
            "webhook-id": String(req.headers["webhook-id"]),
            "webhook-timestamp": String(req.headers["webhook-timestamp"]),
            "webhook-signature": String(req.headers["webhook-signature"]),
          }) as StoreUpdate;
          this.received.push({ webhookId: String(req.headers["webhook-id"]), update });
          res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
          for (const w of this.waiters.splice(0)) w();
        } catch {
          this.badSignatures.push(Date.now());
          res.writeHead(400).end("bad signature");
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/cartbridge`;
    return this;
  }

  /** Distinct updates by webhook id (what a merchant that dedupes on webhook-id would apply). */
  distinct(): ReceivedUpdate[] {
    const seen = new Map<string, ReceivedUpdate>();
    for (const r of this.received) if (!seen.has(r.webhookId)) seen.set(r.webhookId, r);
    return [...seen.values()];
  }

  async waitFor(predicate: (received: ReceivedUpdate[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`store endpoint: condition not met in ${timeoutMs} ms (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
  }
}
