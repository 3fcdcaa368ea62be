/** A tiny cookie-keeping client for the console through `app.request` (no browser). */
import type { Hono } from "hono";

export class ConsoleClient {
  private readonly cookies = new Map<string, string>();

  /**
   * `address` stands in for the socket peer the Node server would pass as `env.incoming`; `forwardedFor`,
   * when given, is sent as X-Forwarded-For on every request (a client behind a reverse proxy).
   */
  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    private readonly app: Hono<any>,
    private readonly address?: string,
    private readonly forwardedFor?: string,
  ) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    if (this.forwardedFor) headers.set("x-forwarded-for", this.forwardedFor);
    const env = this.address ? { incoming: { socket: { remoteAddress: this.address } } } : undefined;
    const res = await this.app.request(path, { ...init, headers }, env);
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, ...value] = pair!.split("=");
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()));
      if (expired) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join("="));
    }
    return res;
  }

  get(path: string): Promise<Response> {
    return this.request(path);
  }

  post(path: string, fields: Record<string, string>): Promise<Response> {
    return this.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** The CSRF token of the first form on a page. */
  static csrfOf(html: string): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!match) throw new Error("no CSRF token on the page");
    return match[1]!;
  }

  async login(password: string, username = "admin"): Promise<Response> {
    const page = await (await this.get("/dashboard/login")).text();
    return this.post("/dashboard/login", { _csrf: ConsoleClient.csrfOf(page), username, password });
  }

  /** Reads a page and returns its CSRF token (the session's). */
  async csrf(path = "/dashboard"): Promise<string> {
    return ConsoleClient.csrfOf(await (await this.get(path)).text());
  }

  hasCookie(name: string): boolean {
    return this.cookies.has(name);
  }
}
