/** Structured JSON logs, one line per entry, with the request id where there is one. */
import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The request being served, for log lines written deep inside a use case: the HTTP layer runs each request
 * inside `logContext.run({ requestId }, …)`, and every logger adds those fields, so a provider failure
 * logged by the use case can be found from the request id the client saw.
 */
export const logContext = new AsyncLocalStorage<Record<string, unknown>>();

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Logger {
  const emit = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < rank[level]) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...logContext.getStore(), ...base, ...fields }, (_k, v) =>
        typeof v === "bigint" ? v.toString() : v instanceof Error ? { name: v.name, message: v.message } : v,
      ),
    );
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
