// This project's frames beyond the seed's DataContent: the features a connection declares at
// CONNECT_INIT, and the presence, typing and group read frames (recall, edit and delete: ./edits.ts).
// They go only to connections that declared them, so a client of the seed never receives a frame it does not know.
import * as v from "valibot";
import { decodeEdit, editKindOf, type EditRequest } from "./edits.ts";
import { EVERYONE, GROUP_ID, GROUP_ID_RULE, MSG_ID_RULE, USER_ID, USER_ID_RULE, isGroupId, isMsgId } from "./ids.ts";
import { firstIssue, text } from "./values.ts";

/** Features a connection may declare in CONNECT_INIT's `"features"` (unknown names are ignored). */
export const FEATURES = ["presence", "typing", "reads", "edit", "seq"] as const;
export type Feature = (typeof FEATURES)[number];
const KNOWN: ReadonlySet<string> = new Set(FEATURES);

/** Most names one CONNECT_INIT may list (known or not), and the longest name. */
export const MAX_DECLARED_FEATURES = 16;
const MAX_FEATURE_CHARS = 32;

/** `"features"` beside `chatMsg` in a CONNECT_INIT: never sent by the seed's clients (their DataContent has no such field). */
export const FeaturesSchema = v.nullish(
  v.pipe(
    v.array(v.pipe(v.string("each must be a string"), v.maxLength(MAX_FEATURE_CHARS, `each must be at most ${MAX_FEATURE_CHARS} characters`))),
    v.maxLength(MAX_DECLARED_FEATURES, `must list at most ${MAX_DECLARED_FEATURES} names`),
  ),
);

/** Most timelines one CONNECT_INIT may give positions for (the user's, its groups', everyone's). */
export const MAX_SEQ_TIMELINES = 1024;

/**
 * `"seqs"` beside `chatMsg` in a CONNECT_INIT (feature "seq"): per timeline id (the user's own id,
 * a group id, or "*" for everyone) the highest position the client holds with none missing below;
 * the replay sends what lies after each.
 */
export const SeqsSchema = v.nullish(
  v.pipe(
    v.unknown(),
    v.check((o) => typeof o === "object" && o !== null && !Array.isArray(o), "must be an object of positions by timeline id"),
    v.record(
      v.pipe(
        v.string(),
        v.check((id) => id === EVERYONE || (isGroupId(id) ? GROUP_ID.test(id) : USER_ID.test(id)), `each key must be a user id, a group id or "${EVERYONE}"`),
      ),
      v.pipe(v.number("each position must be a number"), v.safeInteger("each position must be a whole number"), v.minValue(0, "each position must be 0 or more")),
    ),
    v.check((o) => Object.keys(o).length <= MAX_SEQ_TIMELINES, `must give at most ${MAX_SEQ_TIMELINES} positions`),
  ),
);

/** The known features among `names`, in FEATURES order. */
export function knownFeatures(names: readonly string[] | null | undefined): Feature[] {
  return names ? FEATURES.filter((f) => names.includes(f)) : [];
}
export const isFeature = (name: string): name is Feature => KNOWN.has(name);

const userIds = v.pipe(
  v.array(v.pipe(v.string(), v.regex(USER_ID, `each must be ${USER_ID_RULE}`), v.check((u) => !isGroupId(u), "each must be a user, not a group"))),
  // The per-connection bound (PRESENCE_SUBSCRIPTIONS_MAX) is checked by the core; this only keeps a frame small.
  v.maxLength(10_000, "must list at most 10000 ids"),
);
const clientMsgId = v.nullish(v.pipe(text(64), v.minLength(1, "must not be empty")));

/** `{"presence":{"subscribe":[…],"unsubscribe":[…],"clientMsgId"}}` from a client. */
const PresenceRequestSchema = v.object({
  presence: v.object({ subscribe: v.optional(userIds), unsubscribe: v.optional(userIds), clientMsgId }),
});
/** `{"typing":{"receiverId","stop","clientMsgId"}}` from a client: a user or a group the sender is in. */
const TypingRequestSchema = v.object({
  typing: v.object({
    receiverId: v.pipe(
      v.string("must be a string"),
      v.check((id) => (isGroupId(id) ? GROUP_ID.test(id) : USER_ID.test(id)), `must be ${USER_ID_RULE}, or a group id (${GROUP_ID_RULE})`),
    ),
    stop: v.optional(v.boolean("must be true or false")),
    clientMsgId,
  }),
});

/** `{"read":{"receiverId","msgId","clientMsgId"}}` from a client: the group read up to that message. */
const ReadRequestSchema = v.object({
  read: v.object({
    receiverId: v.pipe(v.string("must be a string"), v.regex(GROUP_ID, `must be a group id (${GROUP_ID_RULE})`)),
    msgId: v.pipe(v.string("must be a string"), v.check((id: string) => isMsgId(id), `must be ${MSG_ID_RULE}`)),
    clientMsgId,
  }),
});

export type FeatureRequest =
  | { kind: "presence"; subscribe: string[]; unsubscribe: string[]; clientMsgId?: string | null }
  | { kind: "typing"; receiverId: string; stop: boolean; clientMsgId?: string | null }
  | { kind: "reads"; receiverId: string; msgId: string; clientMsgId?: string | null }
  | EditRequest;

/** The feature a request needs declared: recall, edit and delete are all "edit". */
export const featureOf = (kind: FeatureRequest["kind"]): Feature => (kind === "recall" || kind === "edit" || kind === "delete" ? "edit" : kind);

/** True when a parsed frame is one of this project's feature frames (no `chatMsg`, a feature key). */
export function isFeatureFrame(json: unknown): json is Record<string, unknown> {
  return typeof json === "object" && json !== null && !("chatMsg" in json)
    && ("presence" in json || "typing" in json || "read" in json || editKindOf(json as Record<string, unknown>) !== undefined);
}

/** The refused frame's clientMsgId, when it is a usable one (the error names it). */
function usableClientMsgId(body: unknown): string | undefined {
  const cid = (body as { clientMsgId?: unknown } | null)?.clientMsgId;
  return typeof cid === "string" && v.is(clientMsgId, cid) ? cid : undefined;
}

/** Validates a feature frame; a refusal names the field (and the frame's clientMsgId, when usable). */
export function decodeFeature(json: Record<string, unknown>): { ok: true; request: FeatureRequest } | { ok: false; message: string; clientMsgId?: string } {
  if ("presence" in json) {
    const p = v.safeParse(PresenceRequestSchema, json);
    if (!p.success) return { ok: false, message: firstIssue(p.issues, "frame"), clientMsgId: usableClientMsgId(json.presence) };
    const { subscribe = [], unsubscribe = [], clientMsgId } = p.output.presence;
    return { ok: true, request: { kind: "presence", subscribe, unsubscribe, clientMsgId } };
  }
  if ("read" in json) {
    const r = v.safeParse(ReadRequestSchema, json);
    if (!r.success) return { ok: false, message: firstIssue(r.issues, "frame"), clientMsgId: usableClientMsgId(json.read) };
    const { receiverId, msgId, clientMsgId } = r.output.read;
    return { ok: true, request: { kind: "reads", receiverId, msgId, clientMsgId } };
  }
  const edit = "typing" in json ? undefined : editKindOf(json);
  if (edit) return decodeEdit(json, edit);
  const t = v.safeParse(TypingRequestSchema, json);
  if (!t.success) return { ok: false, message: firstIssue(t.issues, "frame"), clientMsgId: usableClientMsgId(json.typing) };
  const { receiverId, stop = false, clientMsgId } = t.output.typing;
  return { ok: true, request: { kind: "typing", receiverId, stop, clientMsgId } };
}

/** One user's presence: `lastSeen` (ms since the epoch) is when its last device left, for an offline user seen before. */
export interface Presence {
  userId: string;
  online: boolean;
  lastSeen: number | null;
}

/** `{"presence":{"userId","online","lastSeen"}}`: a subscribed user's state, or its change. */
export function encodePresence(p: Presence): string {
  return JSON.stringify({ presence: { userId: p.userId, online: p.online, lastSeen: p.online ? null : p.lastSeen } });
}

/** `{"typing":{"senderId","receiverId"}}` (with `"stop":true` when the sender stopped). */
export function encodeTyping(senderId: string, receiverId: string, stop: boolean): string {
  return JSON.stringify({ typing: stop ? { senderId, receiverId, stop } : { senderId, receiverId } });
}

/** `{"read":{"receiverId","readerId","msgId"}}`: `readerId` read the group up to `msgId` (its new position). */
export function encodeRead(receiverId: string, readerId: string, msgId: string): string {
  return JSON.stringify({ read: { receiverId, readerId, msgId } });
}
