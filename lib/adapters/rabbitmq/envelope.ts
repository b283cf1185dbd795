// Envelopes on the wire. The frame travels as the text its connections get (never parsed on the
// way); who gets it travels beside it: a header line on this project's direct exchange, an AMQP
// header on fanout_exchange, whose body stays the plain DataContent a seed instance reads.
import type { Audience, Envelope, Seqs } from "../../core/ports.ts";
import { isFeature } from "../../protocol/features.ts";
import { decodeValue, lineageChatMsg, type ChatMsg, type DataContent } from "../../protocol/frames.ts";

/** Content type of envelopes on the direct exchange: per envelope a header line, then the frame line. */
export const ENVELOPES_TYPE = "application/x-im-envelopes";
/** Content type of older versions' batches: DataContent lines, group frames with a `to` field. */
export const LEGACY_BATCH_TYPE = "application/x-ndjson";
/** The AMQP header of a fanout message that names its audience. */
export const AUDIENCE_HEADER = "x-im-audience";
/** The AMQP header of a fanout message whose frame is more than the lineage's DataContent in its body. */
export const FRAME_HEADER = "x-im-frame";

/** A frame's JSON value and its DataContent; undefined when it is not one. */
function parseFrame(text: string): { value: { to?: unknown } | null; frame: DataContent } | undefined {
  let value: { to?: unknown } | null;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const decoded = decodeValue(value);
  return decoded.ok ? { value, frame: decoded.frame } : undefined;
}

/**
 * The body a seed instance can parse, when `frame` carries fields of this project only (its
 * parser, Jackson with FAIL_ON_UNKNOWN_PROPERTIES, refuses them): the lineage's DataContent with
 * only the lineage's ChatMsg fields. Undefined when the frame is that already.
 */
export function seedBody(frame: string): string | undefined {
  if (!frame.includes('"clientMsgId"')) return undefined;
  // A frame this project encoded (encodeDataContent): no need to validate it again.
  const dc = JSON.parse(frame) as { chatMsg?: ChatMsg };
  if (!dc.chatMsg) return undefined;
  dc.chatMsg = lineageChatMsg(dc.chatMsg);
  return JSON.stringify(dc);
}

type Header = ({ k: string; r?: string; s?: string; u?: readonly string[]; w?: string; x?: string; f?: string; q?: Seqs });

/**
 * The audience and sending connection as one line of JSON (JSON text never holds a raw newline).
 * A feature frame's kind is prefixed with "f" (`fm`, `fw`) and names its feature in `f`: an older
 * instance skips such a header as unknown instead of handing the frame to clients of the seed.
 */
export function encodeHeader({ audience, except, feature, seq }: Envelope): string {
  const x = except || undefined;
  const h: Header =
    audience.kind === "pair" ? { k: "p", r: audience.receiverId, s: audience.senderId, x }
    : audience.kind === "members" ? { k: "m", u: audience.userIds, x }
    : audience.kind === "watchers" ? { k: "w", w: audience.userId, x }
    : { k: "e", x };
  if (feature) {
    h.k = "f" + h.k;
    h.f = feature;
  }
  if (seq) h.q = seq; // an older instance ignores it
  return JSON.stringify(h);
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((u) => typeof u === "string");
const isSeqs = (v: unknown): v is Seqs =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((n) => Number.isSafeInteger(n) && (n as number) > 0);

/** The envelope of a header line and its frame; undefined when the header is not one. */
export function decodeHeader(line: string, frame: string): Envelope | undefined {
  let h: Partial<Record<"k" | "r" | "s" | "x" | "w" | "f" | "q", unknown>> & { u?: unknown };
  try {
    h = JSON.parse(line);
  } catch {
    return undefined;
  }
  const except = typeof h?.x === "string" ? h.x : undefined;
  let kind = h?.k;
  let feature: Envelope["feature"];
  if (typeof kind === "string" && kind.startsWith("f")) {
    if (typeof h.f !== "string" || !isFeature(h.f)) return undefined; // a feature this version does not know: nobody here declared it
    feature = h.f;
    kind = kind.slice(1);
  }
  let audience: Audience;
  if (kind === "p" && typeof h.r === "string" && typeof h.s === "string") audience = { kind: "pair", receiverId: h.r, senderId: h.s };
  else if (kind === "m" && isStrings(h.u)) audience = { kind: "members", userIds: h.u };
  else if (kind === "e") audience = { kind: "everyone" };
  else if (kind === "w" && feature && typeof h.w === "string") audience = { kind: "watchers", userId: h.w };
  else return undefined;
  const e: Envelope = feature ? { audience, frame, except, feature } : { audience, frame, except };
  if (isSeqs(h.q)) e.seq = h.q;
  return e;
}

/** Envelopes joined for one AMQP message on the direct exchange. */
export function encodeBatch(envelopes: readonly Envelope[]): string {
  let body = "";
  for (const e of envelopes) body += (body ? "\n" : "") + encodeHeader(e) + "\n" + e.frame;
  return body;
}

/** The envelopes of a direct-exchange message; a malformed pair of lines is skipped (counted in `bad`). */
export function decodeBatch(body: string): { envelopes: Envelope[]; bad: number } {
  const lines = body.split("\n");
  const envelopes: Envelope[] = [];
  let bad = 0;
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const e = decodeHeader(lines[i], lines[i + 1]);
    if (e) envelopes.push(e);
    else bad++;
  }
  if (lines.length % 2) bad++;
  return { envelopes, bad };
}

/**
 * A DataContent published without a header: by a seed instance (a 1:1 message), or by an older
 * version of this project (with `to`: member ids, or "*" for everyone). Parsed, since nothing
 * else says who gets it; `to` is dropped from what connections get.
 */
export function decodeDataContent(text: string): Envelope | undefined {
  const parsed = parseFrame(text);
  if (!parsed) return undefined;
  const { value, frame: { chatMsg, chatTime, extend } } = parsed;
  const except = extend ?? undefined;
  const to = value?.to;
  if (to === undefined) {
    if (!chatMsg.receiverId || !chatMsg.senderId) return undefined;
    return { audience: { kind: "pair", receiverId: chatMsg.receiverId, senderId: chatMsg.senderId }, frame: text, except };
  }
  const frame = JSON.stringify({ chatMsg, chatTime, extend });
  if (to === "*") return { audience: { kind: "everyone" }, frame, except };
  return isStrings(to) ? { audience: { kind: "members", userIds: to }, frame, except } : undefined;
}
