import { expect, it } from "vitest";
import { z } from "zod";
import { fieldsFor, readFields } from "./forms.ts";

const credentials = z.object({ apiKey: z.string().min(1), baseUrl: z.url().optional() });
const settings = z.object({ speed: z.enum(["fast", "slow"]).optional(), confirmations: z.number().int().optional(), strict: z.boolean().default(false), chains: z.array(z.object({ id: z.number() })).optional() });

it("builds write-only credential fields and typed setting fields from a zod schema", () => {
  expect(fieldsFor(credentials, "credentials")).toEqual([
    { name: "apiKey", label: "Api key", input: "password", required: true },
    { name: "baseUrl", label: "Base url", input: "url", required: false },
  ]);
  expect(fieldsFor(settings, "settings")!.map((f) => [f.name, f.input])).toEqual([["speed", "select"], ["confirmations", "number"], ["strict", "checkbox"], ["chains", "json"]]);
  expect(fieldsFor(z.string(), "settings")).toBeUndefined();
});

it("reads posted fields back, leaving empty ones out so defaults apply", () => {
  const fields = fieldsFor(settings, "settings");
  const form = { "set.speed": "fast", "set.confirmations": "12", "set.strict": "on", "set.chains": '[{"id":1}]', "cred.apiKey": "" };
  expect(readFields(form, "set", fields)).toEqual({ speed: "fast", confirmations: 12, strict: true, chains: [{ id: 1 }] });
  expect(settings.parse(readFields(form, "set", fields))).toMatchObject({ confirmations: 12 });
  expect(readFields(form, "cred", fieldsFor(credentials, "credentials"))).toEqual({});
  expect(readFields({ "x.__json": '{"a":1}' }, "x", undefined)).toEqual({ a: 1 });
  expect(() => readFields({ "x.__json": "[1]" }, "x", undefined)).toThrow(SyntaxError);
});
