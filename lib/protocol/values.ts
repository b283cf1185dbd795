// The value rules of the edge, shared by WebSocket frames and HTTP: what every store (SQLite,
// PostgreSQL) and a Java instance of the lineage can hold, so one value is accepted or refused
// the same way everywhere.
import * as v from "valibot";

/** Java's Integer, the lineage's type of every numeric ChatMsg field but msgId. */
export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

// NUL: PostgreSQL cannot store it in text ("invalid byte sequence for encoding UTF8: 0x00"), and
// SQLite's text functions stop at it.
const HAS_NUL = /\u0000/;
// C0 controls and DEL: never part of an id or a URL path.
const HAS_CONTROL = /[\u0000-\u001f\u007f]/;

/** True when `text` holds a control character (C0 or DEL). */
export const hasControl = (text: string) => HAS_CONTROL.test(text);

/**
 * A lone surrogate (half of a UTF-16 pair, e.g. text cut in the middle of an emoji) cannot be
 * encoded as UTF-8: each store would write U+FFFD in its place, while live delivery would pass it
 * on. Replacing it here makes what is delivered and what history shows the same.
 */
export const wellFormed = (text: string) => (text.isWellFormed() ? text : text.toWellFormed());

/** A string field: no NUL, lone surrogates replaced by U+FFFD, at most `maxChars` UTF-16 units. */
export function text(maxChars: number) {
  return v.pipe(
    v.string(),
    v.check((s) => !HAS_NUL.test(s), "must not contain a NUL character (\\u0000)"),
    v.maxLength(maxChars, `must be at most ${maxChars} characters`),
    v.transform(wellFormed),
  );
}

/** A whole number within Java's Integer. */
export const int32 = v.pipe(
  v.number(),
  v.integer("must be a whole number"),
  v.minValue(INT32_MIN, `must be a whole number from ${INT32_MIN} to ${INT32_MAX}`),
  v.maxValue(INT32_MAX, `must be a whole number from ${INT32_MIN} to ${INT32_MAX}`),
);

// Jackson's default coercions (the lineage parses every frame with a plain ObjectMapper), as
// Jackson 2.14 does them: for an Integer field a numeric string (trimmed) and a float (truncated,
// ACCEPT_FLOAT_AS_INT), "" and "null" as null; for a Boolean field "true"/"True"/"TRUE" (and false
// alike), an integer (0 false, any other true), "" and "null" as null; for a String field a number
// or a boolean as its text. test/lineage/ checks each rule against Jackson itself.
const INTEGER_TEXT = /^[+-]?\d+$/;
const BOOLEAN_TEXT: Record<string, boolean> = { true: true, True: true, TRUE: true, false: false, False: false, FALSE: false };

/** An Integer field as Jackson reads it: a number, or a string of one (`""` is null). */
export const jacksonInt = v.pipe(
  v.union([v.number(), v.string()], "must be a whole number"),
  v.transform((x): number | null => {
    if (typeof x === "number") return Math.trunc(x);
    const t = x.trim();
    return t === "" || t === "null" ? null : INTEGER_TEXT.test(t) ? Number(t) : NaN;
  }),
  v.nullable(int32),
);

/** `showMsgDateTimeFlag`: an Integer of the lineage; older clients of this project sent a boolean (1 / 0). */
export const flagInt = v.union([v.pipe(v.boolean(), v.transform((b) => (b ? 1 : 0))), jacksonInt], "must be a whole number");

/** A Boolean field as Jackson reads it. */
export const jacksonBool = v.pipe(
  v.union([v.boolean(), v.number(), v.string()], "must be true or false"),
  v.transform((x): boolean | null | undefined => {
    if (typeof x === "boolean") return x;
    if (typeof x === "number") return Number.isInteger(x) ? x !== 0 : undefined;
    const t = x.trim();
    return BOOLEAN_TEXT[t] ?? (t === "" || t === "null" ? null : undefined);
  }),
  v.nullable(v.boolean("must be true or false")),
);

/** A String field as Jackson reads it: a number or a boolean becomes its text. */
export const jacksonString = v.pipe(
  v.union([v.string(), v.number(), v.boolean()], "must be a string"),
  v.transform((x) => (typeof x === "string" ? x : String(x))),
);

/** The first issue of a failed parse as `path: message` (`fallback` names the whole value). */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[], fallback: string): string {
  const issue = issues[0];
  return `${issue.path?.map((p) => String(p.key)).join(".") || fallback}: ${issue.message}`;
}
