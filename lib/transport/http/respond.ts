// Answers of the HTTP API: the seed's GraceJSONResult, errors that know their status, and the
// checks of parameters and bodies every route shares.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as v from "valibot";
import { StoreRefusedError } from "../../core/ports.ts";
import { Refusal } from "../../core/refusal.ts";
import { ErrorCode } from "../../protocol/frames.ts";
import { USER_ID, USER_ID_RULE } from "../../protocol/ids.ts";
import { firstIssue } from "../../protocol/values.ts";
import { bearerToken } from "../auth.ts";
import { timingSafeEqual } from "node:crypto";

/** An error that knows its HTTP status; its message is shown to the caller. */
export class HttpError extends Error {
  constructor(readonly status: ContentfulStatusCode, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** The HTTP status of a core refusal. */
const STATUS_OF: Record<string, ContentfulStatusCode> = {
  [ErrorCode.BAD_FRAME]: 400,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.LIMIT_EXCEEDED]: 429,
  [ErrorCode.UNAVAILABLE]: 503,
};

/** An HttpError for `err` when it is one or a core Refusal; undefined for anything else. */
export function httpErrorOf(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof Refusal) return new HttpError(STATUS_OF[err.code] ?? 400, err.message);
  if (err instanceof StoreRefusedError) return new HttpError(400, err.message);
  return undefined;
}

/** The seed's GraceJSONResult body. */
export function grace(c: Context, data: unknown, status: ContentfulStatusCode = 200, msg = "OK") {
  return c.json({ status, msg, success: status < 400, data }, status);
}

/** A user id parameter, required. */
export function userParam(name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new HttpError(400, `parameter ${name} is required`);
  if (!USER_ID.test(value)) throw new HttpError(400, `parameter ${name} must be a user id of ${USER_ID_RULE}`);
  return value;
}

/** A whole-number parameter within [min, max]; `fallback` when absent. */
export function intParam(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new HttpError(400, `parameter ${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/**
 * The JSON body of a request, validated. The content type must say JSON: a cross-site form or
 * `text/plain` request (which a browser sends without asking) is refused with 415.
 */
export async function jsonBody<T extends v.GenericSchema>(c: Context, schema: T): Promise<v.InferOutput<T>> {
  if (!/^application\/json\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "the body must be JSON sent with Content-Type: application/json");
  }
  const json = await c.req.json().catch(() => {
    throw new HttpError(400, "the body must be JSON");
  });
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) throw new HttpError(400, firstIssue(parsed.issues, "body"));
  return parsed.output;
}

/**
 * Lets through a request with `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time):
 * 404 while no token is configured (`what` is disabled), 401 otherwise.
 */
export function adminOnly(c: Context, adminToken: string | undefined, what: string): void {
  if (!adminToken) throw new HttpError(404, `${what} is disabled: set ADMIN_TOKEN`);
  const [a, b] = [Buffer.from(bearerToken(c.req.header("authorization")) ?? ""), Buffer.from(adminToken)];
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(401, "unauthorized: send Authorization: Bearer <ADMIN_TOKEN>");
}
