// Recall, edit and delete-for-me: the request frames a client sends, the frames the server sends
// to connections that declared the "edit" feature, and the msgTypes of the event rows that record
// them in the store (lib/core/edits.ts).
import * as v from "valibot";
import { MSG_ID_RULE, isMsgId } from "./ids.ts";
import { firstIssue, text } from "./values.ts";

/** msgTypes of the stored event rows: never shown as messages, never sent to a seed client. */
export const EventType = { RECALL: 100, EDIT: 101, DELETE: 102 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** True for a recall, edit or delete-for-me event row (any msgType of 100 and above is reserved). */
export const isEventType = (msgType: number | null | undefined): boolean => msgType != null && msgType >= EventType.RECALL;

/** The request kinds of the "edit" feature. */
export const EDIT_KINDS = ["recall", "edit", "delete"] as const;
export type EditKind = (typeof EDIT_KINDS)[number];

export type EditRequest =
  | { kind: "recall"; msgId: string; clientMsgId?: string | null }
  | { kind: "edit"; msgId: string; msg: string; clientMsgId?: string | null }
  | { kind: "delete"; msgId: string; clientMsgId?: string | null };

const clientMsgId = v.nullish(v.pipe(text(64), v.minLength(1, "must not be empty")));
const msgId = v.pipe(
  v.union([v.string(), v.pipe(v.number(), v.integer(), v.transform(String))], `must be ${MSG_ID_RULE}`),
  v.check((id) => isMsgId(id), `must be ${MSG_ID_RULE}`),
);
// The length bound of the new text (MAX_MSG_CHARS) and its emptiness are the core's: it names the limit.
const schemas = {
  recall: v.object({ recall: v.object({ msgId, clientMsgId }) }),
  edit: v.object({ edit: v.object({ msgId, msg: v.pipe(v.string("must be a string"), text(Number.MAX_SAFE_INTEGER)), clientMsgId }) }),
  delete: v.object({ delete: v.object({ msgId, clientMsgId }) }),
};

/** The edit kind a parsed frame without `chatMsg` carries, if any. */
export function editKindOf(json: Record<string, unknown>): EditKind | undefined {
  return EDIT_KINDS.find((k) => k in json);
}

/** Validates a recall, edit or delete frame; a refusal names the field (and the frame's clientMsgId, when usable). */
export function decodeEdit(json: Record<string, unknown>, kind: EditKind): { ok: true; request: EditRequest } | { ok: false; message: string; clientMsgId?: string } {
  const parsed = v.safeParse(schemas[kind], json);
  if (!parsed.success) {
    const cid = (json[kind] as { clientMsgId?: unknown } | null)?.clientMsgId;
    return { ok: false, message: firstIssue(parsed.issues, "frame"), clientMsgId: typeof cid === "string" && v.is(clientMsgId, cid) ? cid : undefined };
  }
  const body = (parsed.output as Record<string, any>)[kind];
  return { ok: true, request: { kind, ...body } as EditRequest };
}

/** What the server says happened to message `msgId` (the target): `eventId` is the event row's id. */
export interface EditEvent {
  kind: EditKind;
  /** The message recalled, edited or deleted. */
  msgId: string;
  /** The event's own id (the stored event row): a client may drop a repeat by it. */
  eventId: string;
  /** Who recalled, edited or deleted it. */
  senderId: string;
  /** The target's receiver (a user or a group); for a delete, the user itself. */
  receiverId: string;
  chatTime: string;
  /** The new text of an edit. */
  msg?: string;
}

/**
 * `{"recall":{"msgId","senderId","receiverId","eventId","chatTime"}}`, `{"edit":{…,"msg"}}` or
 * `{"delete":{"msgId","userId","eventId","chatTime"}}`. `eventId` comes first: the route cache's
 * catch-up records it as sent (sentMsgIdOf in lib/core/route-cache.ts), not the target's id.
 */
export function encodeEditEvent(e: EditEvent): string {
  if (e.kind === "delete") return JSON.stringify({ delete: { eventId: e.eventId, msgId: e.msgId, userId: e.senderId, chatTime: e.chatTime } });
  const body = { eventId: e.eventId, msgId: e.msgId, senderId: e.senderId, receiverId: e.receiverId, chatTime: e.chatTime };
  return JSON.stringify(e.kind === "edit" ? { edit: { ...body, msg: e.msg ?? "" } } : { recall: body });
}

/** The kind of an event row's msgType. */
export function editKindOfType(msgType: number): EditKind | undefined {
  return msgType === EventType.RECALL ? "recall" : msgType === EventType.EDIT ? "edit" : msgType === EventType.DELETE ? "delete" : undefined;
}
