/** The `/docs` page: the OpenAPI document rendered as HTML on the server (no CDN, no script). */
import type { Child } from "hono/jsx";

type Json = Record<string, unknown>;

const css = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;background:#f9fafb}
main{max-width:60rem;margin:0 auto;padding:1rem}nav{background:#fff;border:1px solid #e5e7eb;border-radius:.5rem;padding:.5rem 1rem}
nav ul{padding-left:1rem;margin:.3rem 0}h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
section.op{background:#fff;border:1px solid #e5e7eb;border-radius:.5rem;padding:.8rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:3.6rem;text-align:center;font-weight:700;border-radius:.3rem;padding:.05rem .4rem;color:#fff;background:#374151;font-size:.85rem}
.method.post{background:#047857}.method.get{background:#1d4ed8}code,.path{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.88em}
.path{font-weight:600;word-break:break-all}table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #f3f4f6;vertical-align:top}
ul.schema{list-style:none;padding-left:1rem;margin:.2rem 0;border-left:2px solid #e5e7eb}ul.schema li{margin:.15rem 0}
.type{color:#6b7280}.req{color:#b91c1c;font-size:.8rem}.status{font-weight:700}.deprecated{text-decoration:line-through}
`;

/** Descriptions use Markdown's `code` spans; render those, and nothing else, as <code>. */
function Prose({ text }: { text: unknown }) {
  const parts = String(text ?? "").split("`");
  return <>{parts.map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part))}</>;
}

function resolve(doc: Json, node: unknown): Json {
  if (node && typeof node === "object" && "$ref" in node && typeof (node as Json).$ref === "string") {
    const path = String((node as Json).$ref).replace(/^#\//, "").split("/");
    let target: unknown = doc;
    for (const part of path) target = (target as Json | undefined)?.[part];
    return (target as Json) ?? {};
  }
  return (node as Json) ?? {};
}

function refName(node: unknown): string | undefined {
  return node && typeof node === "object" && typeof (node as Json).$ref === "string" ? String((node as Json).$ref).split("/").pop() : undefined;
}

function typeLabel(schema: Json): string {
  const parts: string[] = [];
  if (schema.const !== undefined) parts.push(`= ${JSON.stringify(schema.const)}`);
  else if (Array.isArray(schema.enum)) parts.push(schema.enum.map((v) => JSON.stringify(v)).join(" | "));
  else if (schema.type) parts.push(Array.isArray(schema.type) ? schema.type.join(" | ") : String(schema.type));
  if (schema.type === "array" && schema.items && typeof schema.items === "object") parts.push(`of ${typeLabel(schema.items as Json) || "any"}`);
  if (schema.format) parts.push(`(${String(schema.format)})`);
  const limits: string[] = [];
  for (const [key, label] of [["minLength", "min length"], ["maxLength", "max length"], ["minimum", "min"], ["maximum", "max"], ["minItems", "min items"], ["maxItems", "max items"]] as const) {
    if (schema[key] !== undefined) limits.push(`${label} ${String(schema[key])}`);
  }
  if (schema.pattern && !schema.format) limits.push(`pattern ${String(schema.pattern)}`);
  if (limits.length) parts.push(`· ${limits.join(", ")}`);
  return parts.join(" ");
}

function SchemaTree({ doc, schema, depth = 0 }: { doc: Json; schema: unknown; depth?: number }): Child {
  const name = refName(schema);
  const node = resolve(doc, schema);
  if (depth > 6) return <span class="type">…</span>;
  const variants = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (variants) return <ul class="schema">{variants.map((v) => <li>one of: <SchemaTree doc={doc} schema={v} depth={depth + 1} /></li>)}</ul>;
  const properties = node.properties as Record<string, unknown> | undefined;
  const items = node.type === "array" ? (node.items as Json | undefined) : undefined;
  const required = new Set((node.required as string[] | undefined) ?? []);
  return (
    <>
      {name && depth > 0 ? <a href={`#schema-${name}`}>{name}</a> : null} <span class="type">{typeLabel(node)}</span>
      {properties ? (
        <ul class="schema">
          {Object.entries(properties).map(([prop, sub]) => (
            <li><code>{prop}</code>{required.has(prop) ? <span class="req"> required</span> : null} <SchemaTree doc={doc} schema={sub} depth={depth + 1} /></li>
          ))}
        </ul>
      ) : null}
      {items && (items.properties || items.$ref) ? <SchemaTree doc={doc} schema={items} depth={depth + 1} /> : null}
      {node.additionalProperties && typeof node.additionalProperties === "object" ? (
        <ul class="schema"><li><i>any key</i>: <SchemaTree doc={doc} schema={node.additionalProperties} depth={depth + 1} /></li></ul>
      ) : null}
    </>
  );
}

function Operation({ doc, method, path, op }: { doc: Json; method: string; path: string; op: Json }) {
  const parameters = ((op.parameters as unknown[] | undefined) ?? []).map((p) => resolve(doc, p));
  const body = op.requestBody as Json | undefined;
  const responses = (op.responses as Record<string, Json> | undefined) ?? {};
  const anchor = String(op.operationId ?? `${method}-${path}`);
  return (
    <section class="op" id={anchor}>
      <div><span class={`method ${method}`}>{method.toUpperCase()}</span> <span class={`path${op.deprecated ? " deprecated" : ""}`}>{path}</span></div>
      <h3>{String(op.summary ?? "")}</h3>
      {op.description ? <p><Prose text={op.description} /></p> : null}
      {Array.isArray(op.security) && op.security.length === 0 ? <p class="type">No authentication.</p> : null}
      {parameters.length ? (
        <>
          <h4>Parameters</h4>
          <table><tbody>
            {parameters.map((p) => <tr><td><code>{String(p.name)}</code>{p.required ? <span class="req"> required</span> : null}</td><td>{String(p.in)}</td><td>{p.description ? <Prose text={p.description} /> : null} <span class="type">{typeLabel((p.schema as Json) ?? {})}</span></td></tr>)}
          </tbody></table>
        </>
      ) : null}
      {body ? (
        <>
          <h4>Request body</h4>
          {Object.entries((body.content as Record<string, Json>) ?? {}).map(([type, media]) => <div><code>{type}</code> <SchemaTree doc={doc} schema={media.schema} /></div>)}
        </>
      ) : null}
      <h4>Responses</h4>
      <table><tbody>
        {Object.entries(responses).map(([status, response]) => (
          <tr>
            <td class="status">{status}</td>
            <td><Prose text={response.description} />{Object.entries((response.content as Record<string, Json>) ?? {}).map(([type, media]) => (
              <div><code>{type}</code> {refName(media.schema) ? <a href={`#schema-${refName(media.schema)}`}>{refName(media.schema)}</a> : <span class="type">{typeLabel(resolve(doc, media.schema))}</span>}</div>
            ))}</td>
          </tr>
        ))}
      </tbody></table>
    </section>
  );
}

const methods = ["get", "post", "put", "patch", "delete"] as const;

export async function renderReference(doc: Json): Promise<string> {
  const info = (doc.info as Json) ?? {};
  const paths = (doc.paths as Record<string, Json>) ?? {};
  const webhooks = (doc.webhooks as Record<string, Json>) ?? {};
  const schemas = ((doc.components as Json)?.schemas as Record<string, Json>) ?? {};
  const ops = Object.entries(paths).flatMap(([path, item]) => methods.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m] as Json })));
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>{`${String(info.title)} reference`}</title>
        <style>{css}</style>
      </head>
      <body>
        <main>
          <h1>{String(info.title)} <span class="type">v{String(info.version)}</span></h1>
          <p><Prose text={info.description} /></p>
          <p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI {String(doc.openapi)}). Base URL: <code>{String(((doc.servers as Json[])?.[0])?.url ?? "")}</code></p>
          <nav>
            <b>Operations</b>
            <ul>{ops.map(({ path, method, op }) => <li><a href={`#${String(op.operationId)}`}>{method.toUpperCase()} {path}</a></li>)}</ul>
            <b>Webhooks sent by the bridge</b>
            <ul>{Object.keys(webhooks).map((name) => <li><a href={`#webhook-${name}`}>{name}</a></li>)}</ul>
          </nav>
          <h2>Operations</h2>
          {ops.map(({ path, method, op }) => <Operation doc={doc} method={method} path={path} op={op} />)}
          <h2>Webhooks sent by the bridge</h2>
          {Object.entries(webhooks).map(([name, item]) => (
            <div id={`webhook-${name}`}>{methods.filter((m) => item[m]).map((m) => <Operation doc={doc} method={m} path={name} op={item[m] as Json} />)}</div>
          ))}
          <h2>Schemas</h2>
          {Object.entries(schemas).map(([name, schema]) => (
            <section class="op" id={`schema-${name}`}><h3>{name}</h3><SchemaTree doc={doc} schema={schema} /></section>
          ))}
        </main>
      </body>
    </html>
  );
  return `<!doctype html>${await page.toString()}`;
}
