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

/** The first issue of a failed parse as `path: message` (`fallback` names the whole value). */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[], fallback: string): string {
  const issue = issues[0];
  return `${issue.path?.map((p) => String(p.key)).join(".") || fallback}: ${issue.message}`;
}
