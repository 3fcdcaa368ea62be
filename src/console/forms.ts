/**
 * Form fields generated from a plugin's zod schema (its JSON Schema), so a new provider or store
 * platform gets a form without console code. Values posted back are coerced by the same description
 * and then validated by the use case with the zod schema itself.
 */
import { z } from "zod";

export interface FormField {
  name: string;
  label: string;
  input: "text" | "password" | "url" | "number" | "checkbox" | "select" | "json";
  required: boolean;
  options?: string[];
  description?: string;
}

interface JsonSchemaNode {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
}

/** Credentials are write-only: every credential field is a password box unless it is plainly an address. */
export function fieldsFor(schema: z.ZodType, kind: "credentials" | "settings"): FormField[] | undefined {
  let json: JsonSchemaNode;
  try {
    json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchemaNode;
  } catch {
    return undefined;
  }
  if (json.type !== "object" || !json.properties) return json.type === "object" ? [] : undefined;
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties).map(([name, node]): FormField => {
    const type = Array.isArray(node.type) ? node.type.find((t) => t !== "null") : node.type;
    const looksLikeAddress = node.format === "uri" || /(url|domain|host|shop)$/i.test(name);
    let input: FormField["input"];
    if (node.enum && node.enum.every((v) => typeof v === "string")) input = "select";
    else if (type === "boolean") input = "checkbox";
    else if (type === "integer" || type === "number") input = "number";
    else if (type === "string" || type === undefined) input = kind === "credentials" && !looksLikeAddress ? "password" : looksLikeAddress ? "url" : "text";
    else input = "json";
    return {
      name,
      label: sentenceCase(name),
      input,
      required: required.has(name),
      ...(input === "select" ? { options: node.enum as string[] } : {}),
      ...(node.description ? { description: node.description } : {}),
    };
  });
}

/** `webhookApiKey` → `Webhook api key`. */
function sentenceCase(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Reads `prefix.name` fields back into an object. Empty fields are left out (so a schema default or a
 * generated value applies); a `json` field and the free-form `prefix.__json` textarea are parsed as JSON.
 */
export function readFields(form: Record<string, unknown>, prefix: string, fields: FormField[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const freeForm = form[`${prefix}.__json`];
  if (typeof freeForm === "string" && freeForm.trim()) {
    const parsed = JSON.parse(freeForm) as unknown;
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new SyntaxError("expected a JSON object");
    Object.assign(out, parsed);
  }
  for (const field of fields ?? []) {
    const raw = form[`${prefix}.${field.name}`];
    if (field.input === "checkbox") {
      if (raw !== undefined) out[field.name] = raw === "on" || raw === "true";
      continue;
    }
    if (typeof raw !== "string" || raw.trim() === "") continue;
    const value = raw.trim();
    if (field.input === "number") out[field.name] = Number(value);
    else if (field.input === "json") out[field.name] = JSON.parse(value) as unknown;
    else out[field.name] = value;
  }
  return out;
}
