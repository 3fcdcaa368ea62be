/** The console's pages, rendered on the server with Hono's JSX. No script: plain links and forms. */
import type { Child } from "hono/jsx";
import type { SessionRow, StoreRow, StoreUpdateRow } from "../db/schema.ts";
import { formatDecimalAmount, type CurrencyCode } from "../domain/money.ts";
import { sessionStatuses } from "../domain/session-status.ts";
import { HourlyChart } from "./chart.tsx";
import { explorerTxUrl } from "./explorers.ts";
import type { FormField } from "./forms.ts";
import type { HourlyPoint, SessionDetail, TimelineEntry } from "./queries.ts";

export const base = "/dashboard";

const css = `
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f9fafb;--accent:#1d4ed8;--ok:#047857;--bad:#b91c1c;--warn:#b45309}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#111827;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header .brand{font-weight:700;margin-right:auto}header a{color:#e5e7eb;text-decoration:none}header a.on{color:#fff;border-bottom:2px solid #60a5fa}
header form{margin:0}header button{background:none;border:1px solid #4b5563;color:#e5e7eb;padding:.2rem .6rem}
main{max-width:72rem;margin:0 auto;padding:1rem}h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
a{color:var(--accent)}.muted{color:var(--muted)}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;word-break:break-all}
.card{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:1rem;margin-bottom:1rem}
.table-wrap{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:.5rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);background:#f3f4f6}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:1rem;font-size:.8rem;background:#e5e7eb;white-space:nowrap}
.badge.paid,.badge.paid_late,.badge.overpaid,.badge.delivered,.badge.processed{background:#d1fae5;color:var(--ok)}
.badge.failed,.badge.dead,.badge.expired,.badge.canceled{background:#fee2e2;color:var(--bad)}
.badge.underpaid,.badge.pending,.badge.delivering,.badge.review,.badge.received{background:#fef3c7;color:var(--warn)}
form.inline{display:inline}label{display:block;margin:.5rem 0 .15rem;font-weight:600;font-size:.9rem}
input,select,textarea{font:inherit;padding:.45rem .55rem;border:1px solid #d1d5db;border-radius:.35rem;width:100%;max-width:32rem;background:#fff}
input[type=checkbox]{width:auto}textarea{min-height:5rem}
button{font:inherit;padding:.45rem .9rem;border-radius:.35rem;border:1px solid #1e40af;background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.search input{max-width:22rem}.search select{max-width:12rem}
.flash{padding:.7rem 1rem;border-radius:.4rem;margin-bottom:1rem;background:#dbeafe}.flash.error{background:#fee2e2;color:var(--bad)}
.secret{background:#fffbeb;border:1px solid #fcd34d;padding:.7rem 1rem;border-radius:.4rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem}.stat{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.6rem .8rem}
.stat b{display:block;font-size:1.4rem}a.stat{text-decoration:none;color:inherit}a.stat:hover{border-color:#93c5fd}.order{white-space:nowrap}dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
ol.timeline{list-style:none;padding:0;margin:0}ol.timeline li{border-left:3px solid var(--line);padding:.3rem 0 .6rem .8rem;margin-left:.3rem}
ol.timeline li.webhook{border-left-color:#60a5fa}details pre{white-space:pre-wrap;word-break:break-all;background:#f3f4f6;padding:.5rem;border-radius:.3rem;font-size:.8rem;max-height:24rem;overflow:auto}
.chart svg{width:100%;height:10rem;background:#fff;border:1px solid var(--line);border-radius:.5rem}.chart .created{fill:#cbd5e1}.chart .paid{fill:#10b981}
.chart .axis{stroke:#9ca3af}.chart .tick{font-size:10px;fill:#6b7280}.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:.15rem;vertical-align:middle}
.swatch.created{background:#cbd5e1}.swatch.paid{background:#10b981}figure{margin:0}figcaption{color:var(--muted);font-size:.85rem;margin-top:.3rem}
.login{max-width:24rem;margin:12vh auto}
@media (max-width:640px){main{padding:.6rem}th,td{padding:.35rem .4rem}.hide-sm{display:none}header{font-size:.9rem}}
`;

export function Layout(props: { title: string; nav?: string; csrf?: string; username?: string; children?: Child }) {
  const item = (key: string, href: string, label: string) => <a href={`${base}${href}`} class={props.nav === key ? "on" : ""}>{label}</a>;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${props.title} · Cartbridge`}</title>
        <style>{css}</style>
      </head>
      <body>
        {props.csrf ? (
          <header>
            <span class="brand">Cartbridge</span>
            {item("overview", "", "Overview")}
            {item("sessions", "/sessions", "Sessions")}
            {item("updates", "/updates", "Store updates")}
            {item("stores", "/stores", "Stores")}
            <form method="post" action={`${base}/logout`}>
              <input type="hidden" name="_csrf" value={props.csrf} />
              <button type="submit" title={props.username ? `Signed in as ${props.username}` : undefined}>Sign out</button>
            </form>
          </header>
        ) : null}
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function time(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "–" : new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

function amount(minor: string | null, currency: string | null): string {
  if (minor === null) return "–";
  if (!currency || currency.length !== 3) return `${minor}${currency ? ` ${currency}` : ""}`;
  try {
    return `${formatDecimalAmount(BigInt(minor), currency as CurrencyCode)} ${currency}`;
  } catch {
    return `${minor} ${currency}`;
  }
}

function Badge({ value }: { value: string }) {
  return <span class={`badge ${value}`}>{value.replace(/_/g, " ")}</span>;
}

function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />;
}

function Flash({ message, error }: { message?: string | undefined; error?: string | undefined }) {
  return (
    <>
      {message ? <div class="flash" role="status">{message}</div> : null}
      {error ? <div class="flash error" role="alert">{error}</div> : null}
    </>
  );
}

/** Only http(s) links are rendered as links: an explorer URL comes from a platform's word. */
function SafeLink({ href, children }: { href: string | null; children?: Child }) {
  return href && /^https?:\/\//i.test(href) ? <a href={href} rel="noopener noreferrer" target="_blank">{children}</a> : <>{children}</>;
}

export function LoginPage(props: { csrf: string; error?: string; setupNeeded: boolean; username?: string }) {
  return (
    <Layout title="Sign in">
      <div class="login card">
        <h1>Cartbridge console</h1>
        <Flash error={props.error} />
        {props.setupNeeded ? (
          <p class="secret">No operator password is set yet. On the server, run <code class="mono">npx cartbridge console set-password</code> first.</p>
        ) : null}
        <form method="post" action={`${base}/login`}>
          <Csrf token={props.csrf} />
          <label for="username">User name</label>
          <input id="username" name="username" autocomplete="username" value={props.username ?? "admin"} required />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          <p><button type="submit">Sign in</button></p>
        </form>
      </div>
    </Layout>
  );
}

export function OverviewPage(props: { csrf: string; username: string; points: HourlyPoint[]; days: number; counts: { sessions: Record<string, number>; updates: Record<string, number>; rejections: number } }) {
  const { counts } = props;
  return (
    <Layout title="Overview" nav="overview" csrf={props.csrf} username={props.username}>
      <h1>Overview</h1>
      <div class="row" style="justify-content:space-between">
        <h2 style="margin:0">Sessions per hour, last {props.days} days (UTC)</h2>
        <span>{[1, 7, 30].map((d) => <> <a href={`${base}?days=${d}`}>{d}d</a></>)}</span>
      </div>
      <HourlyChart points={props.points} />
      <h2>Sessions by status</h2>
      <div class="grid">
        {Object.entries(counts.sessions).map(([status, n]) => (
          <a class="stat" href={`${base}/sessions?status=${status}`}><Badge value={status} /><b>{n}</b></a>
        ))}
      </div>
      <h2>Store updates</h2>
      <div class="grid">
        {Object.entries(counts.updates).map(([state, n]) => <a class="stat" href={`${base}/updates`}><Badge value={state} /><b>{n}</b></a>)}
        <a class="stat" href={`${base}/updates#rejections`}><span class="badge failed">rejected webhooks</span><b>{counts.rejections}</b></a>
      </div>
    </Layout>
  );
}

export function SessionsPage(props: { csrf: string; username: string; rows: SessionRow[]; q: string; status: string; nextBefore?: number | undefined }) {
  return (
    <Layout title="Sessions" nav="sessions" csrf={props.csrf} username={props.username}>
      <h1>Checkout sessions</h1>
      <form class="row search card" method="get" action={`${base}/sessions`}>
        <div style="flex:1 1 16rem">
          <label for="q">Order id, session id, transaction hash or email</label>
          <input id="q" name="q" type="search" value={props.q} placeholder="1001, cs_…, 0x…, buyer@…" />
        </div>
        <div>
          <label for="status">Status</label>
          <select id="status" name="status">
            <option value="">any</option>
            {sessionStatuses.map((s) => <option value={s} selected={props.status === s}>{s.replace(/_/g, " ")}</option>)}
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      {props.rows.length === 0 ? <p class="muted">No sessions match.</p> : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Order</th><th>Status</th><th class="num">Amount</th><th class="hide-sm">Provider</th><th class="hide-sm">Customer</th><th>Created</th></tr></thead>
            <tbody>
              {props.rows.map((s) => (
                <tr>
                  <td><a class="order" href={`${base}/sessions/${s.id}`}>{s.order_number ?? s.order_id}</a><div class="mono muted hide-sm">{s.id}</div></td>
                  <td><Badge value={s.status} />{s.livemode ? null : <span class="muted"> test</span>}</td>
                  <td class="num">{amount(s.amount_minor, s.currency)}</td>
                  <td class="hide-sm">{s.provider}</td>
                  <td class="hide-sm">{s.customer_email ?? "–"}</td>
                  <td>{time(s.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.nextBefore ? (
        <p><a href={`${base}/sessions?${new URLSearchParams({ q: props.q, status: props.status, before: String(props.nextBefore) }).toString()}`}>Older sessions →</a></p>
      ) : null}
    </Layout>
  );
}

function TimelineItem({ entry }: { entry: TimelineEntry }) {
  if (entry.kind === "session_event") {
    return (
      <li>
        <b>{entry.event.replace(/_/g, " ")}</b>
        {entry.fromStatus || entry.toStatus ? <> {entry.fromStatus ? <Badge value={entry.fromStatus} /> : null} → {entry.toStatus ? <Badge value={entry.toStatus} /> : null}</> : null}
        <div class="muted">{time(entry.at)} · {entry.source}</div>
        {entry.detail !== "{}" ? <details><summary>detail</summary><pre>{pretty(entry.detail)}</pre></details> : null}
      </li>
    );
  }
  return (
    <li class="webhook">
      <b>webhook from {entry.provider}</b> <Badge value={entry.status} /> <span class="mono">{entry.eventId}</span>
      <div class="muted">{time(entry.at)}{entry.note ? ` · ${entry.note}` : ""}</div>
      <details><summary>raw body</summary><pre>{pretty(entry.rawBody)}</pre></details>
      <details><summary>headers</summary><pre>{pretty(entry.headers)}</pre></details>
      <details><summary>as the bridge read it</summary><pre>{pretty(entry.normalized)}</pre></details>
    </li>
  );
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function SessionPage(props: { csrf: string; username: string; nowMs: number; detail: SessionDetail; cart: { name: string; quantity: number; unit: string; sku?: string | undefined }[]; totals: { label: string; value: string }[] }) {
  const { session: s, payments, timeline, updates } = props.detail;
  return (
    <Layout title={`Session ${s.id}`} nav="sessions" csrf={props.csrf} username={props.username}>
      <p><a href={`${base}/sessions`}>← Sessions</a></p>
      <h1>Order {s.order_number ?? s.order_id} <Badge value={s.status} /></h1>
      {s.review_reason ? <div class="flash error">Needs review: {s.review_reason}</div> : null}
      <div class="card">
        <dl class="kv">
          <dt>Session</dt><dd class="mono">{s.id}</dd>
          <dt>Store</dt><dd>{props.detail.storeName} <span class="mono muted">{s.store_id}</span></dd>
          <dt>Amount</dt><dd>{amount(s.amount_minor, s.currency)}</dd>
          <dt>Paid</dt><dd>{amount(s.amount_paid_minor, s.currency)}</dd>
          <dt>Provider</dt><dd>{s.provider} {s.livemode ? "(live)" : "(test)"} <span class="mono muted">{s.provider_session_id ?? ""}</span></dd>
          <dt>Customer</dt><dd>{s.customer_email ?? "–"}</dd>
          <dt>Created</dt><dd>{time(s.created_at)}</dd>
          <dt>Expires</dt><dd>{time(s.expires_at)}</dd>
        </dl>
      </div>
      <h2>Cart</h2>
      <div class="table-wrap">
        <table>
          <thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Unit</th></tr></thead>
          <tbody>
            {props.cart.map((l) => <tr><td>{l.name}{l.sku ? <span class="muted"> · {l.sku}</span> : null}</td><td class="num">{l.quantity}</td><td class="num">{l.unit}</td></tr>)}
            {props.totals.map((t) => <tr><td colspan={2}>{t.label}</td><td class="num">{t.value}</td></tr>)}
          </tbody>
        </table>
      </div>
      <h2>Payments</h2>
      {payments.length === 0 ? <p class="muted">No payment recorded.</p> : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Reference</th><th>Status</th><th class="num">Amount</th><th>Transaction</th></tr></thead>
            <tbody>
              {payments.map((p) => (
                <tr>
                  <td class="mono">{p.reference}</td>
                  <td><Badge value={p.status} /></td>
                  <td class="num">{amount(p.amount_minor, p.currency)}</td>
                  <td class="mono">{p.tx_hash ? <SafeLink href={p.explorer_url ?? explorerTxUrl(p.chain_id, p.tx_hash) ?? null}>{p.tx_hash}</SafeLink> : "–"}{p.chain_id ? <span class="muted"> (chain {p.chain_id})</span> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Timeline</h2>
      <div class="card"><ol class="timeline">{timeline.map((e) => <TimelineItem entry={e} />)}</ol></div>
      <h2>Store updates</h2>
      {updates.length === 0 ? <p class="muted">No store update queued.</p> : updates.map(({ update, attempts }) => (
        <div class="card">
          <div class="row" style="justify-content:space-between">
            <div><b>{update.event_type}</b> <Badge value={update.state} /> <span class="mono muted">{update.id}</span></div>
            <RetryButton csrf={props.csrf} update={update} back={`${base}/sessions/${s.id}`} nowMs={props.nowMs} />
          </div>
          <div class="table-wrap" style="margin-top:.5rem">
            <table>
              <thead><tr><th>#</th><th>Outcome</th><th>Response</th><th class="hide-sm">Worker</th><th>At</th></tr></thead>
              <tbody>
                {attempts.length === 0 ? <tr><td colspan={5} class="muted">not attempted yet</td></tr> : attempts.map((a) => (
                  <tr>
                    <td>{a.attempt}</td>
                    <td><Badge value={a.outcome} /></td>
                    <td>{a.response_status ?? "–"} {a.error ? <span class="muted">{a.error}</span> : null}{a.response_excerpt ? <details><summary>body</summary><pre>{a.response_excerpt}</pre></details> : null}</td>
                    <td class="hide-sm mono">{a.worker}</td>
                    <td>{time(a.finished_at)} <span class="muted">({Number(a.finished_at) - Number(a.started_at)} ms)</span></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </Layout>
  );
}

/** What retryStoreUpdateNow accepts: dead, waiting, or delivering with its worker's lease run out. */
function retryable(update: StoreUpdateRow, nowMs: number): boolean {
  return update.state === "dead" || update.state === "pending" || (update.state === "delivering" && update.lease_until !== null && Number(update.lease_until) < nowMs);
}

function RetryButton({ csrf, update, back, nowMs }: { csrf: string; update: StoreUpdateRow; back: string; nowMs: number }) {
  if (!retryable(update, nowMs)) return null;
  return (
    <form class="inline" method="post" action={`${base}/updates/${update.id}/retry`}>
      <Csrf token={csrf} />
      <input type="hidden" name="back" value={back} />
      <button type="submit" class="secondary">Retry now</button>
    </form>
  );
}

function UpdatesTable({ rows, csrf, nowMs }: { rows: StoreUpdateRow[]; csrf: string; nowMs: number }) {
  return (
    <div class="table-wrap">
      <table>
        <thead><tr><th>Update</th><th>State</th><th class="num">Attempts</th><th>Last error</th><th class="hide-sm">Next attempt</th><th></th></tr></thead>
        <tbody>
          {rows.map((u) => (
            <tr data-update-id={u.id}>
              <td><a href={`${base}/sessions/${u.session_id}`}>{u.event_type}</a><div class="mono muted hide-sm">{u.id}</div></td>
              <td><Badge value={u.state} /></td>
              <td class="num">{u.attempts}</td>
              <td>{u.last_error ?? "–"}</td>
              <td class="hide-sm">{u.state === "dead" ? "–" : time(u.next_attempt_at)}</td>
              <td><RetryButton csrf={csrf} update={u} back={`${base}/updates`} nowMs={nowMs} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function UpdatesPage(props: {
  csrf: string; username: string; nowMs: number; flash?: string | undefined; error?: string | undefined;
  dead: StoreUpdateRow[]; stuck: StoreUpdateRow[];
  rejections: { id: string; provider: string; connection_id: string | null; reason: string; headers_json: string; raw_body_excerpt: string; received_at: number }[];
}) {
  return (
    <Layout title="Store updates" nav="updates" csrf={props.csrf} username={props.username}>
      <h1>Store updates</h1>
      <Flash message={props.flash} error={props.error} />
      <h2>Dead-lettered</h2>
      {props.dead.length === 0 ? <p class="muted">None: every update was delivered or is still being tried.</p> : <UpdatesTable rows={props.dead} csrf={props.csrf} nowMs={props.nowMs} />}
      <h2>Stuck (failed at least once and still retrying, or its worker's lease ran out)</h2>
      {props.stuck.length === 0 ? <p class="muted">None.</p> : <UpdatesTable rows={props.stuck} csrf={props.csrf} nowMs={props.nowMs} />}
      <h2 id="rejections">Webhooks that failed verification</h2>
      {props.rejections.length === 0 ? <p class="muted">None.</p> : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Received</th><th>Provider</th><th>Reason</th><th>Request</th></tr></thead>
            <tbody>
              {props.rejections.map((r) => (
                <tr>
                  <td>{time(r.received_at)}</td>
                  <td>{r.provider}<div class="mono muted hide-sm">{r.connection_id ?? "unknown connection"}</div></td>
                  <td><span class="badge failed">{r.reason.replace(/_/g, " ")}</span></td>
                  <td><details><summary>headers and body</summary><pre>{pretty(r.headers_json)}</pre><pre>{r.raw_body_excerpt}</pre></details></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}

function Fields({ prefix, fields, secretNote }: { prefix: string; fields: FormField[] | undefined; secretNote?: boolean }) {
  if (!fields) {
    return (
      <>
        <label for={`${prefix}.__json`}>{prefix === "cred" ? "Credentials" : "Settings"} (JSON object)</label>
        <textarea id={`${prefix}.__json`} name={`${prefix}.__json`} spellcheck={false} autocomplete="off" />
      </>
    );
  }
  return (
    <>
      {fields.map((f) => {
        const id = `${prefix}.${f.name}`;
        if (f.input === "checkbox") return <label><input type="checkbox" name={id} /> {f.label}</label>;
        return (
          <>
            <label for={id}>{f.label}{f.required ? "" : <span class="muted"> (optional)</span>}</label>
            {f.input === "select" ? (
              <select id={id} name={id}><option value="">–</option>{(f.options ?? []).map((o) => <option value={o}>{o}</option>)}</select>
            ) : f.input === "json" ? (
              <textarea id={id} name={id} spellcheck={false} />
            ) : (
              <input id={id} name={id} type={f.input} autocomplete={f.input === "password" ? "new-password" : "off"} spellcheck={false} />
            )}
            {f.description ? <div class="muted">{f.description}</div> : null}
          </>
        );
      })}
      {secretNote ? <p class="muted">Credentials are stored encrypted and never shown again.</p> : null}
    </>
  );
}

export interface PlatformForm {
  platform: string;
  fields: FormField[] | undefined;
}

export interface ShownSecret {
  label: string;
  value: string;
}

export function StoresPage(props: {
  csrf: string; username: string; stores: StoreRow[]; platforms: PlatformForm[]; providers: string[];
  error?: string | undefined; values?: { name?: string; platform?: string; defaultProvider?: string } | undefined;
}) {
  return (
    <Layout title="Stores" nav="stores" csrf={props.csrf} username={props.username}>
      <h1>Stores</h1>
      <Flash error={props.error} />
      {props.stores.length === 0 ? <p class="muted">No store yet.</p> : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Platform</th><th>Default provider</th><th class="hide-sm">Created</th></tr></thead>
            <tbody>
              {props.stores.map((s) => (
                <tr><td><a href={`${base}/stores/${s.id}`}>{s.name}</a><div class="mono muted hide-sm">{s.id}</div></td><td>{s.platform}</td><td>{s.default_provider ?? "–"}</td><td class="hide-sm">{time(s.created_at)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Create a store</h2>
      <p class="muted">Pick the platform first; each platform has its own settings below. Only the settings of the chosen platform are read.</p>
      <form class="card" method="post" action={`${base}/stores`}>
        <Csrf token={props.csrf} />
        <label for="name">Name</label>
        <input id="name" name="name" required maxlength={200} value={props.values?.name ?? ""} />
        <label for="platform">Platform</label>
        <select id="platform" name="platform">
          {props.platforms.map((p) => <option value={p.platform} selected={props.values?.platform === p.platform}>{p.platform}</option>)}
        </select>
        <label for="defaultProvider">Default provider</label>
        <select id="defaultProvider" name="defaultProvider">
          <option value="">none (each request names one)</option>
          {props.providers.map((p) => <option value={p} selected={props.values?.defaultProvider === p}>{p}</option>)}
        </select>
        {props.platforms.map((p) => (
          <fieldset style="margin-top:1rem;border:1px solid var(--line);border-radius:.4rem">
            <legend>{p.platform} settings</legend>
            <Fields prefix={`store.${p.platform}`} fields={p.fields} secretNote />
            {p.platform === "custom" ? <p class="muted">Leave the signing secret empty to have one generated.</p> : null}
          </fieldset>
        ))}
        <p><button type="submit">Create store</button></p>
      </form>
    </Layout>
  );
}

export function StorePage(props: {
  csrf: string; username: string; store: StoreRow;
  keys: { id: string; key_prefix: string; livemode: number; created_at: number; revoked_at: number | null }[];
  connections: { id: string; provider: string; livemode: boolean; disabled: boolean; webhookUrl: string; createdAt: string }[];
  providers: { name: string; testOnly: boolean; credentials: FormField[] | undefined; settings: FormField[] | undefined }[];
  shown?: ShownSecret[] | undefined; flash?: string | undefined; error?: string | undefined;
}) {
  const { store } = props;
  return (
    <Layout title={store.name} nav="stores" csrf={props.csrf} username={props.username}>
      <p><a href={`${base}/stores`}>← Stores</a></p>
      <h1>{store.name}</h1>
      <Flash message={props.flash} error={props.error} />
      {props.shown?.length ? (
        <div class="secret" role="status">
          <b>Copy these now: they are shown once.</b>
          <dl class="kv" style="margin-top:.5rem">
            {props.shown.map((s) => <><dt>{s.label}</dt><dd class="mono" data-secret={s.label}>{s.value}</dd></>)}
          </dl>
        </div>
      ) : null}
      <div class="card">
        <dl class="kv">
          <dt>Store id</dt><dd class="mono">{store.id}</dd>
          <dt>Platform</dt><dd>{store.platform}</dd>
          <dt>Default provider</dt><dd>{store.default_provider ?? "–"}</dd>
          <dt>Created</dt><dd>{time(store.created_at)}</dd>
        </dl>
        <form class="row" method="post" action={`${base}/stores/${store.id}/default-provider`} style="margin-top:.8rem">
          <Csrf token={props.csrf} />
          <div><label for="defaultProvider">Change default provider</label>
            <select id="defaultProvider" name="defaultProvider">
              <option value="">none</option>
              {props.providers.map((p) => <option value={p.name} selected={store.default_provider === p.name}>{p.name}</option>)}
            </select></div>
          <button type="submit" class="secondary">Save</button>
        </form>
      </div>
      <h2>API keys</h2>
      <div class="table-wrap">
        <table>
          <thead><tr><th>Key</th><th>Mode</th><th>Created</th><th>State</th></tr></thead>
          <tbody>
            {props.keys.map((k) => <tr><td class="mono">{k.key_prefix}…</td><td>{k.livemode ? "live" : "test"}</td><td>{time(k.created_at)}</td><td>{k.revoked_at ? `revoked ${time(k.revoked_at)}` : "active"}</td></tr>)}
          </tbody>
        </table>
      </div>
      <div class="row" style="margin-top:.6rem">
        {[false, true].map((live) => (
          <form class="inline" method="post" action={`${base}/stores/${store.id}/rotate-key`}>
            <Csrf token={props.csrf} />
            <input type="hidden" name="mode" value={live ? "live" : "test"} />
            <button type="submit" class="secondary">Rotate {live ? "live" : "test"} key</button>
          </form>
        ))}
      </div>
      <p class="muted">Rotating revokes the current key of that mode at once; the store must be given the new key.</p>
      <h2>Provider connections</h2>
      {props.connections.length === 0 ? <p class="muted">No provider connected yet.</p> : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Provider</th><th>Mode</th><th>Webhook URL to register at the platform</th></tr></thead>
            <tbody>
              {props.connections.map((c) => (
                <tr><td>{c.provider}{c.disabled ? " (disabled)" : ""}<div class="mono muted hide-sm">{c.id}</div></td><td>{c.livemode ? "live" : "test"}</td><td class="mono" data-webhook-url>{c.webhookUrl}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted">The webhook URL contains a secret path: register it in the platform's dashboard and keep it private.</p>
      <h2>Connect a provider account</h2>
      {props.providers.map((p) => (
        <details class="card">
          <summary><b>{p.name}</b>{p.testOnly ? <span class="muted"> (test mode only)</span> : null}</summary>
          <form method="post" action={`${base}/stores/${store.id}/connections`}>
            <Csrf token={props.csrf} />
            <input type="hidden" name="provider" value={p.name} />
            {p.testOnly ? <input type="hidden" name="mode" value="test" /> : (
              <><label for={`mode-${p.name}`}>Mode</label><select id={`mode-${p.name}`} name="mode"><option value="test">test</option><option value="live">live</option></select></>
            )}
            <Fields prefix="cred" fields={p.credentials} secretNote />
            <Fields prefix="set" fields={p.settings} />
            <p><button type="submit">Connect {p.name}</button></p>
          </form>
        </details>
      ))}
    </Layout>
  );
}

export function MessagePage(props: { title: string; message: string; status?: number; csrf?: string; username?: string }) {
  return (
    <Layout title={props.title} csrf={props.csrf} username={props.username}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      <p><a href={base}>Back to the console</a></p>
    </Layout>
  );
}
