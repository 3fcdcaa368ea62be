/**
 * A request's body and headers, read from the Node request (`c.env.incoming`) when the bridge runs under
 * @hono/node-server.
 *
 * Reading through `c.req.text()` would first build the fetch `Request`, and undici gives every such Request
 * an AbortSignal that it registers in a FinalizationRegistry: V8's scavenger keeps objects reachable that
 * way alive, so each request carried about 10 KB into the old generation, and the mark-compacts that
 * collected it held the event loop for 50–150 ms every few seconds at 500 req/s (honojs/node-server#269
 * describes the same promotion; measurements in docs/decisions/0006). Without a Node request
 * (`app.request()` in tests, other runtimes) both read the fetch Request.
 */
import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors.ts";

function nodeRequest(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

/**
 * The client's address. With no trusted proxy it is the socket's peer. Behind `trustedProxies` reverse
 * proxies, each of which appends the address it received from to X-Forwarded-For, it is the entry the
 * outermost trusted proxy appended: entries to its left were written by the client (or by proxies we do
 * not run) and can say anything, so they are never used. Fewer entries than proxies (a request that came
 * around them) falls back to the leftmost address there is.
 */
export function clientAddress(c: Context, trustedProxies = 0): string {
  const peer = nodeRequest(c)?.socket?.remoteAddress ?? "unknown";
  if (trustedProxies === 0) return peer;
  const forwarded = (c.req.header("x-forwarded-for") ?? "").split(",").map((entry) => entry.trim()).filter(Boolean);
  const chain = [...forwarded, peer];
  return chain[Math.max(0, chain.length - 1 - trustedProxies)]!;
}

/**
 * Every header as lowercase name → value, a repeated header's values joined with ", " (as fetch's
 * `Headers` does). On Node it walks `rawHeaders`: iterating `Headers` sorts and copies them each time.
 */
export function requestHeaders(c: Context): Record<string, string> {
  // No prototype: a header may be called `__proto__`.
  const headers = Object.create(null) as Record<string, string>;
  const incoming = nodeRequest(c);
  if (!incoming) {
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return headers;
  }
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`…) are not headers.
    if (name.startsWith(":")) continue;
    const earlier = headers[name];
    headers[name] = earlier === undefined ? raw[i + 1]! : `${earlier}, ${raw[i + 1]!}`;
  }
  return headers;
}

/**
 * A JSON body checked against its schema: `400 invalid_json` when it does not parse, `422
 * validation_failed` (with a field error per issue) when it does not fit.
 */
export function parseJsonBody<T>(raw: string, schema: z.ZodType<T>, invalidMessage = "The request body is not valid."): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ApiError("invalid_json", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ApiError("validation_failed", invalidMessage, parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message })));
  }
  return parsed.data;
}

/** The request body as bytes, refused with `413 body_too_large` past a limit. */
export async function readRequestBody(c: Context, options: { maxBytes: number; what: string }): Promise<Uint8Array> {
  const tooLarge = () => new ApiError("body_too_large", `${options.what} exceeds ${options.maxBytes} bytes.`);
  // A declared length is refused before a byte is read; a chunked body is counted as it arrives.
  const declared = c.req.header("content-length");
  if (declared !== undefined && c.req.header("transfer-encoding") === undefined && Number(declared) > options.maxBytes) {
    throw tooLarge();
  }
  const incoming = nodeRequest(c);
  const body = incoming ? await readIncoming(incoming, options.maxBytes) : await readStream(c.req.raw.body, options.maxBytes);
  if (!body) throw tooLarge();
  return body;
}

/** Bytes of a Node request, or undefined past the limit (reading stops; Node discards the rest after the answer). */
function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array | undefined> {
  if (incoming.readableEnded) return Promise.resolve(new Uint8Array(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        settle();
        incoming.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      settle();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      settle();
      reject(err);
    };
    // The client went away before the body ended.
    const onClose = () => onError(new Error("the request was closed before its body ended"));
    incoming.on("data", onData).once("end", onEnd).once("error", onError).once("close", onClose);
  });
}

/** Bytes of a fetch body stream, or undefined past the limit (the stream is cancelled). */
async function readStream(stream: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | undefined> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
