import { serve, type ServerType } from "@hono/node-server";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAddress, readRequestBody, requestHeaders } from "./request.ts";
import { ApiError, errorResponse } from "./errors.ts";

const maxBytes = 1000;

/** @hono/node-server's lazy request keeps the fetch Request it built under this symbol. */
function builtFetchRequest(req: Request): boolean {
  const cache = Object.getOwnPropertySymbols(req).find((s) => s.description === "requestCache");
  return cache !== undefined && (req as unknown as Record<symbol, unknown>)[cache] !== undefined;
}

function echoApp() {
  const app = new Hono();
  app.onError((err, c) => (err instanceof ApiError ? errorResponse(c, err) : c.json({ failed: String(err) }, 500)));
  app.post("/echo", async (c) => {
    const body = await readRequestBody(c, { maxBytes, what: "The body" });
    return c.json({ hex: Buffer.from(body).toString("hex"), builtFetchRequest: builtFetchRequest(c.req.raw) });
  });
  app.get("/headers", (c) => c.json({ headers: requestHeaders(c), builtFetchRequest: builtFetchRequest(c.req.raw) }));
  return app;
}

/** A GET with raw header lines (a flat name, value, … array: names cased and repeated as given). */
function getHeaders(port: number, lines: [string, string][]): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/headers", method: "GET", headers: lines.flat(), setHost: false }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve(JSON.parse(text).headers));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Sends `chunks` one by one (chunked, or with a declared length), then reads the answer. */
function post(port: number, chunks: Buffer[], options: { declaredLength?: number } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (options.declaredLength !== undefined) headers["content-length"] = String(options.declaredLength);
    const req = request({ host: "127.0.0.1", port, path: "/echo", method: "POST", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    const writeNext = (i: number) => {
      if (i === chunks.length) return req.end();
      req.write(chunks[i], () => setTimeout(() => writeNext(i + 1), 5));
    };
    writeNext(0);
  });
}

describe("readRequestBody over a real Node server", () => {
  let server: ServerType;
  let port: number;
  beforeAll(async () => {
    server = serve({ fetch: echoApp().fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((r) => server.once("listening", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("returns the exact bytes of a chunked body that arrives in pieces, without building the fetch Request", async () => {
    const chunks = [Buffer.from([0, 1, 2, 0xff]), Buffer.from("héllo"), Buffer.alloc(300, 7)];
    const res = await post(port, chunks);
    expect(res.status).toBe(200);
    expect(res.body.hex).toBe(Buffer.concat(chunks).toString("hex"));
    // The point of reading the Node request: no undici Request (and its AbortSignal) per request.
    expect(res.body.builtFetchRequest).toBe(false);
  });

  it("refuses a chunked body once it passes the limit, with the 413 envelope", async () => {
    const res = await post(port, [Buffer.alloc(600, 1), Buffer.alloc(600, 2), Buffer.alloc(600, 3)]);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("body_too_large");
  });

  it("refuses a declared length over the limit before reading it", async () => {
    const res = await post(port, [Buffer.alloc(maxBytes + 1, 1)], { declaredLength: maxBytes + 1 });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("body_too_large");
  });

  it("takes a body of exactly the limit, and keeps serving after a client that left mid-body", async () => {
    await new Promise<void>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path: "/echo", method: "POST", headers: { "content-length": "500" } });
      req.on("error", () => resolve());
      req.write(Buffer.alloc(10), () => setTimeout(() => { req.destroy(); resolve(); }, 20));
    });
    const res = await post(port, [Buffer.alloc(maxBytes, 9)], { declaredLength: maxBytes });
    expect(res.status).toBe(200);
    expect(res.body.hex).toBe(Buffer.alloc(maxBytes, 9).toString("hex"));
  });
});

describe("requestHeaders", () => {
  const lines: [string, string][] = [
    ["Host", "shop.example"], ["X-Signature", "t=1,v1=ab"], ["x-signature", "v1=cd"], ["Webhook-Id", "msg_1"], ["__proto__", "x"],
  ];
  // fromEntries makes `__proto__` an own key, as JSON.parse of the answer does.
  const expected = Object.fromEntries([["host", "shop.example"], ["x-signature", "t=1,v1=ab, v1=cd"], ["webhook-id", "msg_1"], ["__proto__", "x"]]);
  const sent = (headers: Record<string, string>) => Object.fromEntries(Object.keys(expected).map((name) => [name, headers[name]]));

  it("on Node: lowercase names, repeated values joined as fetch's Headers joins them", async () => {
    const server = serve({ fetch: echoApp().fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((r) => server.once("listening", r));
    try {
      const headers = await getHeaders((server.address() as AddressInfo).port, lines);
      expect(sent(headers)).toEqual(expected);
      expect(Object.keys(headers).every((name) => name === name.toLowerCase())).toBe(true);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("without a Node request: the same record from the fetch Headers", async () => {
    const headers = new Headers();
    for (const [name, value] of lines) headers.append(name, value);
    const res = await echoApp().request("/headers", { headers });
    const body = (await res.json()) as { headers: Record<string, string> };
    expect(sent(body.headers)).toEqual(expected);
  });
});

describe("clientAddress", () => {
  const app = new Hono();
  app.get("/who", (c) => c.text(clientAddress(c, Number(c.req.query("proxies")))));
  /** As the Node server would see it: the socket's peer is our proxy, 10.0.0.1. */
  const who = async (proxies: number, forwardedFor?: string) =>
    (await app.request(`/who?proxies=${proxies}`, { headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} }, { incoming: { socket: { remoteAddress: "10.0.0.1" } } })).text();

  it("is the socket's peer without trusted proxies, whatever X-Forwarded-For says", async () => {
    expect(await who(0, "203.0.113.9")).toBe("10.0.0.1");
    expect(await who(0)).toBe("10.0.0.1");
  });

  it("is the entry the outermost trusted proxy appended, never one the client wrote", async () => {
    expect(await who(1, "198.51.100.1, 203.0.113.9")).toBe("203.0.113.9");
    expect(await who(2, "198.51.100.1, 203.0.113.9")).toBe("198.51.100.1");
    // A request that came around the proxy has no header: its peer is the client.
    expect(await who(1)).toBe("10.0.0.1");
    // Fewer entries than proxies: the leftmost address there is.
    expect(await who(3, "203.0.113.9")).toBe("203.0.113.9");
  });

  it("is \"unknown\" without a Node request", async () => {
    expect(await (await app.request("/who?proxies=0")).text()).toBe("unknown");
  });
});

describe("readRequestBody without a Node request (app.request)", () => {
  const app = echoApp();

  it("reads the fetch body", async () => {
    const res = await app.request("/echo", { method: "POST", body: new Uint8Array([1, 2, 3]) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { hex: string }).hex).toBe("010203");
  });

  it("refuses a streamed body past the limit", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 3; i++) controller.enqueue(new Uint8Array(600));
        controller.close();
      },
    });
    const res = await app.request("/echo", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
  });
});
