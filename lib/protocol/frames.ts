// Wire protocol of SPEC §7: ChatMsg / DataContent schemas, msgType, error codes, encode/decode.
import * as v from "valibot";
import { FeaturesSchema, SeqsSchema, decodeFeature, isFeatureFrame, type FeatureRequest } from "./features.ts";
import { EVERYONE, USER_ID, USER_ID_RULE } from "./ids.ts";
import { firstIssue, flagInt, jacksonBool, jacksonInt, jacksonString, text } from "./values.ts";

/** msgType values of the seed lineage. */
export const MsgType = {
  CONNECT_INIT: 0,
  WORDS: 1,
  IMAGE: 2,
  VOICE: 3,
  VIDEO: 4,
  SIGNED: 8,
  KEEPALIVE: 9,
} as const;

export const CHAT_TYPES: ReadonlySet<number> = new Set([MsgType.WORDS, MsgType.IMAGE, MsgType.VOICE, MsgType.VIDEO]);

/** Error codes a client may receive in `{"error":{"code","message"}}`. */
export const ErrorCode = {
  BAD_JSON: "BAD_JSON",
  BAD_FRAME: "BAD_FRAME",
  NOT_INITIALIZED: "NOT_INITIALIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  RATE_LIMITED: "RATE_LIMITED",
  LIMIT_EXCEEDED: "LIMIT_EXCEEDED",
  UNAVAILABLE: "UNAVAILABLE",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Deepest JSON nesting accepted in a frame. */
export const MAX_JSON_DEPTH = 32;
/** Longest URL in videoPath / voicePath. */
export const MAX_PATH_CHARS = 2048;
/** Longest clientMsgId (the store's VARCHAR(64)). */
export const MAX_CLIENT_MSG_ID_CHARS = 64;
// Fields with no bound of their own are bounded by MAX_FRAME_BYTES; msg by MAX_MSG_CHARS in the core.
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

// Every field but clientMsgId (this project's) is coerced as the lineage's Jackson does (values.ts).
const str = v.nullish(v.pipe(jacksonString, text(UNBOUNDED)));
const userId = v.nullish(v.pipe(jacksonString, v.regex(USER_ID, `must be ${USER_ID_RULE}`)));
const clientId = v.nullish(v.pipe(text(MAX_CLIENT_MSG_ID_CHARS), v.minLength(1, "must not be empty")));
const path = v.nullish(v.pipe(jacksonString, text(MAX_PATH_CHARS)));
const int = v.nullish(jacksonInt);
const bool = v.nullish(jacksonBool);
// Clients of the seed sent msgId as a JSON number (Java Long); accept both, keep it a string.
// Checked against MSG_ID where it names a message (replay, SIGNED); a chat frame's own is replaced.
const id = v.nullish(v.pipe(v.union([v.string(), v.pipe(v.number(), v.integer(), v.transform(String))]), text(32)));

/** ChatMsg as the seed lineage names and types its fields; unknown fields are dropped. */
export const ChatMsgSchema = v.object({
  senderId: userId,
  // "*" addresses everyone (system broadcasts); the chat core refuses it from clients.
  receiverId: v.nullish(v.pipe(jacksonString, v.check((s) => s === EVERYONE || USER_ID.test(s), `must be ${USER_ID_RULE}`))),
  msg: str,
  msgType: int,
  msgId: id,
  chatTime: str,
  showMsgDateTimeFlag: v.nullish(flagInt),
  videoPath: path,
  videoWidth: int,
  videoHeight: int,
  videoTimes: int,
  voicePath: path,
  speakVoiceDuration: int,
  isRead: bool,
  communicationType: int,
  isReceiverOnLine: bool,
  clientMsgId: clientId,
});
export type ChatMsg = v.InferOutput<typeof ChatMsgSchema>;

/**
 * One frame: `{"chatMsg", "chatTime", "extend", "serverNode"}`; `serverNode` is accepted and
 * ignored; `features` (this project's, CONNECT_INIT only) lists the feature frames it understands,
 * `seqs` (CONNECT_INIT with "seq") the positions its replay starts after.
 */
export const DataContentSchema = v.object({
  chatMsg: ChatMsgSchema,
  chatTime: str,
  extend: str,
  serverNode: v.nullish(v.unknown()),
  features: FeaturesSchema,
  seqs: SeqsSchema,
});
export type DataContent = v.InferOutput<typeof DataContentSchema>;

export type Decoded =
  | { ok: true; frame: DataContent }
  | { ok: false; code: ErrorCode; message: string; /** of a frame that parsed but was refused, when usable */ clientMsgId?: string };

// A msgId sent as a JSON number beyond 2^53 (the seed's Java Long) would lose digits in a double:
// for such frames only, a reviver keeps the number's source text (the digits as sent).
const BIG_NUMERIC_ID = /"msgId"\s*:\s*\d{16}/;
const keepIdDigits = (key: string, value: unknown, ctx?: { source?: string }) =>
  key === "msgId" && typeof value === "number" && ctx?.source && /^\d+$/.test(ctx.source) ? ctx.source : value;

/** True when `text` nests arrays/objects deeper than `max` (strings are skipped). */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92) i++; // backslash: skip the escaped character
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 || ch === 91) {
      if (++depth > max) return true;
    } else if (ch === 125 || ch === 93) depth--;
  }
  return false;
}

/** The JSON value of a frame, or why it is none. */
function parseJson(text: string): { ok: true; json: unknown } | { ok: false; code: ErrorCode; message: string } {
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
    return { ok: false, code: ErrorCode.BAD_FRAME, message: `frame nests JSON deeper than ${MAX_JSON_DEPTH} levels` };
  }
  try {
    return { ok: true, json: BIG_NUMERIC_ID.test(text) ? JSON.parse(text, keepIdDigits as (k: string, v: unknown) => unknown) : JSON.parse(text) };
  } catch {
    return { ok: false, code: ErrorCode.BAD_JSON, message: "frame is not valid JSON" };
  }
}

/** Parses one text frame; never throws. */
export function decode(text: string): Decoded {
  const parsed = parseJson(text);
  return parsed.ok ? decodeValue(parsed.json) : parsed;
}

/** What a client sent: a DataContent, or one of this project's feature frames (lib/protocol/features.ts). */
export type DecodedClient = Decoded | { ok: true; frame?: undefined; request: FeatureRequest };

/** Parses one frame from a client (a DataContent or a feature frame); never throws. */
export function decodeClient(text: string): DecodedClient {
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  if (!isFeatureFrame(parsed.json)) return decodeValue(parsed.json);
  const f = decodeFeature(parsed.json);
  return f.ok ? { ok: true, request: f.request } : { ok: false, code: ErrorCode.BAD_FRAME, message: f.message, clientMsgId: f.clientMsgId };
}

/** Validates an already parsed frame; never throws. */
export function decodeValue(json: unknown): Decoded {
  const parsed = v.safeParse(DataContentSchema, json);
  if (!parsed.success) {
    // The refused frame's clientMsgId, when it is one, so that the client knows which message failed.
    const cid = (json as { chatMsg?: { clientMsgId?: unknown } } | null)?.chatMsg?.clientMsgId;
    const clientMsgId = v.is(ChatMsgSchema.entries.clientMsgId, cid) && cid ? (cid as string) : undefined;
    return { ok: false, code: ErrorCode.BAD_FRAME, message: firstIssue(parsed.issues, "frame"), clientMsgId };
  }
  return { ok: true, frame: parsed.output };
}

/** Drops null/undefined fields so frames stay as small as the seed's Jackson output. */
export function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(obj)) if (val !== undefined && val !== null) out[k] = val;
  return out as T;
}

/** The ChatMsg fields of the lineage's POJO: all a Java instance of the seed can parse (it refuses unknown ones). */
export const LINEAGE_CHAT_MSG_FIELDS = [
  "senderId", "receiverId", "msg", "msgType", "msgId", "chatTime", "showMsgDateTimeFlag", "videoPath", "videoWidth",
  "videoHeight", "videoTimes", "voicePath", "speakVoiceDuration", "isRead", "communicationType", "isReceiverOnLine",
] as const satisfies ReadonlyArray<keyof ChatMsg>;

/** `chatMsg` with only the lineage's fields (nulls dropped), for the seed's exchanges. */
export function lineageChatMsg(chatMsg: ChatMsg): ChatMsg {
  const out: Record<string, unknown> = {};
  for (const k of LINEAGE_CHAT_MSG_FIELDS) if (chatMsg[k] != null) out[k] = chatMsg[k];
  return out as ChatMsg;
}

export function encodeDataContent(dc: { chatMsg: ChatMsg; chatTime: string; extend?: string | null }): string {
  const chatMsg = compact(dc.chatMsg) as ChatMsg & { seq?: unknown };
  delete chatMsg.seq; // a stored message's positions travel beside chatMsg (withSeq), never in it
  return JSON.stringify({ chatMsg, chatTime: dc.chatTime, extend: dc.extend ?? undefined });
}

/**
 * The frame with a stored message's positions beside `chatMsg`:
 * `{"seq":{"<timeline id>":n,…},"chatMsg":…}`, for connections that declared "seq" only.
 */
export const withSeq = (frame: string, seq: Readonly<Record<string, number>>): string => `{"seq":${JSON.stringify(seq)},${frame.slice(1)}`;

/**
 * A stored row's positions alone, `{"seq":{…}}`: what a connection that declared "seq" gets in the
 * place of a row it does not get (an event of a feature it did not declare), so that it sees no gap.
 */
export const positionsOnly = (seq: Readonly<Record<string, number>>): string => JSON.stringify({ seq });

export function encodeError(code: ErrorCode, message: string, clientMsgId?: string | null): string {
  return JSON.stringify({ error: clientMsgId ? { code, message, clientMsgId } : { code, message } });
}

/** An ack; a CONNECT_INIT's with a replay also says how many it replayed and whether that is all (`recovered`). */
export function encodeAck(ack: {
  clientMsgId: string; msgId?: string; chatTime?: string; replayed?: number; recovered?: boolean; features?: readonly string[]; editWindowMs?: number; unread?: number;
  /** CONNECT_INIT with "seq": the last position of each of the user's timelines, read just before the replay. */
  seqs?: Readonly<Record<string, number>>;
  /** A chat message's, to a connection with "seq": its positions (as other devices get them beside chatMsg). */
  seq?: Readonly<Record<string, number>>;
}): string {
  return JSON.stringify({ ack });
}

const pad = (n: number) => (n < 10 ? "0" + n : String(n));

// Every message of one second has the same times: formatted once per second.
let cachedSecond = -1;
let cachedChatTime = "";
let cachedFrameTime = "";
function formatted(d: Date): void {
  const second = Math.floor(d.getTime() / 1000);
  if (second === cachedSecond) return;
  cachedSecond = second;
  cachedChatTime = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  cachedFrameTime = cachedChatTime.replaceAll("-", "/");
}

/** `yyyy-MM-dd HH:mm:ss` (ChatMsg.chatTime) in server local time. */
export function formatChatTime(d: Date): string {
  formatted(d);
  return cachedChatTime;
}

/** `yyyy/MM/dd HH:mm:ss` (DataContent.chatTime) in server local time. */
export function formatFrameTime(d: Date): string {
  formatted(d);
  return cachedFrameTime;
}
