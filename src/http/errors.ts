/**
 * One error envelope for every API answer that is not a success:
 * `{ error: { type, code, message, fields?, requestId } }`. Codes are stable: clients branch on them.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "idempotency_error"
  | "rate_limit_error"
  | "provider_error"
  | "webhook_error"
  | "api_error";

export const errorCodes = {
  validation_failed: { status: 422, type: "invalid_request_error" },
  amount_mismatch: { status: 422, type: "invalid_request_error" },
  invalid_json: { status: 400, type: "invalid_request_error" },
  body_too_large: { status: 413, type: "invalid_request_error" },
  unauthenticated: { status: 401, type: "authentication_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  session_expired: { status: 410, type: "invalid_request_error" },
  provider_not_connected: { status: 422, type: "invalid_request_error" },
  callback_not_https: { status: 422, type: "invalid_request_error" },
  idempotency_key_in_use: { status: 409, type: "idempotency_error" },
  idempotency_key_reused: { status: 422, type: "idempotency_error" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  provider_unavailable: { status: 502, type: "provider_error" },
  webhook_verification_failed: { status: 400, type: "webhook_error" },
  internal_error: { status: 500, type: "api_error" },
} as const satisfies Record<string, { status: ContentfulStatusCode; type: ErrorType }>;

export type ErrorCode = keyof typeof errorCodes;

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): ContentfulStatusCode {
    return errorCodes[this.code].status;
  }
}

export interface ErrorEnvelope {
  error: {
    type: ErrorType;
    code: ErrorCode;
    message: string;
    fields?: FieldError[];
    requestId: string;
  };
}

export function errorEnvelope(err: ApiError, requestId: string): ErrorEnvelope {
  return {
    error: {
      type: errorCodes[err.code].type,
      code: err.code,
      message: err.message,
      ...(err.fields?.length ? { fields: err.fields } : {}),
      requestId,
    },
  };
}

export function errorResponse(c: Context, err: ApiError): Response {
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  return c.json(errorEnvelope(err, c.get("requestId") ?? "unknown"), err.status);
}
