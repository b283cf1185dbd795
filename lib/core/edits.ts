// Recall, edit and delete-for-me. Each is stored as an event row of its own (a chat_message row
// with msgType 100, 101 or 102 naming its target in refId), so that replay carries it to every
// device like a message, and is applied to its target (recalled or edited state, a per-user hidden
// set), so that history shows the result. Live, the event goes as a feature frame to connections
// that declared "edit"; a seed client never gets an event, only the target as it now is.
import type { Logger } from "../log.ts";
import { EventType, editKindOfType, encodeEditEvent, isEventType, type EditRequest } from "../protocol/edits.ts";
import { ErrorCode, MsgType, encodeDataContent, formatChatTime } from "../protocol/frames.ts";
import { EVERYONE, isGroupId } from "../protocol/ids.ts";
import { snowflakeTime } from "../protocol/snowflake.ts";
import type { Delivery } from "./delivery.ts";
import type { Audience, GroupReads, GroupStore, Ids, MessageBus, MessageHooks, MessageStore, SaveResult, StoredMsg, UnreadCounters } from "./ports.ts";
import { refuse } from "./refusal.ts";
import { frameTimeOf, pairOf } from "./send.ts";

export interface EditDeps {
  store: MessageStore;
  groups: Pick<GroupStore, "members">;
  ids: Ids;
  bus: Pick<MessageBus, "acceptsMore">;
  delivery: Delivery;
  now: () => number;
  /** Stores a row within the store's bound (send.ts); throws a Refusal. */
  stored(msg: StoredMsg): Promise<SaveResult>;
  /** Longest `msg` in characters (an edit's new text too). */
  maxMsgChars: number;
  /** How long after sending its sender may recall or edit a message (ms). */
  editWindowMs: number;
  /** A recalled message no longer counts unread for those who had not read it. */
  unread: Pick<UnreadCounters, "uncount">;
  reads: Pick<GroupReads, "positions">;
  log: Logger;
  /** Told of each recall, edit or delete applied (webhooks). */
  hooks?: MessageHooks;
}

export type Edits = ReturnType<typeof createEdits>;

const TYPE_OF = { recall: EventType.RECALL, edit: EventType.EDIT, delete: EventType.DELETE } as const;

/** "2 minutes", "90 seconds": a window as a person reads it. */
export function durationText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hour${ms === 3_600_000 ? "" : "s"}`;
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? "" : "s"}`;
  if (ms % 1000 === 0) return `${ms / 1000} second${ms === 1000 ? "" : "s"}`;
  return `${ms} ms`;
}

/** The feature frame of a stored event row. */
export function eventFrame(row: StoredMsg): string {
  const kind = editKindOfType(row.msgType)!;
  return encodeEditEvent({ kind, msgId: row.refId ?? "", eventId: row.msgId, senderId: row.senderId, receiverId: row.receiverId, chatTime: row.chatTime, msg: row.msg ?? "" });
}

/**
 * The frames of stored rows (a replay, a catch-up) for one connection: event rows as feature frames
 * to a connection that declared "edit", to none other; messages as they now are (recalled: empty,
 * edited: the new text), except those the user deleted for itself later in the same rows, and any
 * in `sent` (what the connection got live). `finish(row, frame)` may add to each frame what this
 * connection gets beside it (e.g. positions); `withheld(row)`, what a row it does not get leaves in
 * its place (a frame of positions only).
 */
export function framesOf(
  rows: readonly StoredMsg[], declared: boolean, sent?: ReadonlySet<string>, finish: (row: StoredMsg, frame: string) => string = (_, frame) => frame,
  withheld: (row: StoredMsg) => string | undefined = () => undefined,
): string[] {
  const deleted = new Set<string>();
  for (const m of rows) if (m.msgType === EventType.DELETE && m.refId) deleted.add(m.refId);
  const out: string[] = [];
  const skip = (m: StoredMsg) => {
    const frame = withheld(m); // what a row the connection does not get leaves in its place, if anything
    if (frame !== undefined) out.push(frame);
  };
  for (const m of rows) {
    if (sent?.has(m.msgId)) continue;
    if (isEventType(m.msgType)) {
      if (declared && m.refId) out.push(finish(m, eventFrame(m))); // one without a target came from elsewhere (a seed publisher): skipped
      else skip(m);
    } else if (!deleted.has(m.msgId)) out.push(finish(m, encodeDataContent({ chatMsg: m, chatTime: frameTimeOf(m), extend: null })));
    else skip(m);
  }
  return out;
}

export function createEdits(deps: EditDeps) {
  const windowText = `${durationText(deps.editWindowMs)} (EDIT_WINDOW_MS=${deps.editWindowMs})`;

  /** The message a request names: a message (not an event) that exists. */
  async function targetOf(msgId: string): Promise<StoredMsg> {
    let target: StoredMsg | undefined;
    try {
      target = await deps.store.get(msgId);
    } catch {
      return refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: try again later");
    }
    if (!target) return refuse(ErrorCode.NOT_FOUND, `no message ${msgId}`);
    if (isEventType(target.msgType)) return refuse(ErrorCode.BAD_FRAME, `msgId: ${msgId} is a recall, edit or delete event, not a message`);
    return target;
  }

  async function membersOf(groupId: string): Promise<string[]> {
    try {
      return await deps.groups.members(groupId);
    } catch {
      return refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: try again later");
    }
  }

  /** The sender's own message, sent within the window; `verb` names the request in refusals. */
  function checkOwnRecent(userId: string, target: StoredMsg, verb: string): void {
    if (target.senderId !== userId) refuse(ErrorCode.FORBIDDEN, `only the sender of a message may ${verb} it`);
    const age = deps.now() - snowflakeTime(target.msgId);
    if (age > deps.editWindowMs) {
      refuse(ErrorCode.FORBIDDEN, `a message can be ${verb === "recall" ? "recalled" : "edited"} only within ${windowText} of being sent; ${target.msgId} was sent ${durationText(Math.round(age / 1000) * 1000)} ago`);
    }
  }

  /** Who sees a recall or edit: the target's pair, or its group's members (the sender too, should it have left). */
  async function audienceOf(userId: string, target: StoredMsg): Promise<Audience> {
    if (!isGroupId(target.receiverId)) return pairOf(target);
    const members = await membersOf(target.receiverId);
    return { kind: "members", userIds: members.includes(userId) ? members : [...members, userId] };
  }

  /** Whether `userId` may delete `target` for itself: a message of one of its conversations. */
  async function mayDelete(userId: string, target: StoredMsg): Promise<boolean> {
    if (target.senderId === userId || target.receiverId === userId || target.receiverId === EVERYONE) return true;
    return isGroupId(target.receiverId) && (await membersOf(target.receiverId)).includes(userId);
  }

  /** Stores the event row (a resend finds its first one), applies it to its target, hands it on. */
  async function record(userId: string, connId: string, request: EditRequest, target: StoredMsg, audience: Audience): Promise<SaveResult> {
    if (!deps.bus.acceptsMore) return refuse(ErrorCode.UNAVAILABLE, "the cluster's message bus is down and its backlog is full: try again later");
    const now = new Date(deps.now());
    const type = TYPE_OF[request.kind];
    let event: StoredMsg = {
      senderId: userId, receiverId: request.kind === "delete" ? userId : target.receiverId, msgType: type, msgId: deps.ids.next(),
      chatTime: formatChatTime(now), isRead: true, communicationType: request.kind === "delete" ? 1 : (target.communicationType ?? 1),
      refId: target.msgId, msg: request.kind === "edit" ? request.msg : undefined, clientMsgId: request.clientMsgId ?? undefined,
    };
    const saved = await deps.stored(event);
    if (saved.duplicate) {
      const first = await deps.store.get(saved.msgId).catch(() => refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: try again later"));
      if (!first || first.msgType !== type || first.refId !== target.msgId) {
        return refuse(ErrorCode.BAD_FRAME, `clientMsgId: "${request.clientMsgId}" already names another message of yours: use a new one`);
      }
      event = first;
    }
    let changed = false;
    try {
      if (request.kind === "delete") changed = await deps.store.hide(userId, target.msgId);
      else changed = await deps.store.applyEdit(request.kind === "recall" ? { msgId: target.msgId, eventId: event.msgId, recall: true } : { msgId: target.msgId, eventId: event.msgId, msg: event.msg ?? "" });
    } catch {
      return refuse(ErrorCode.UNAVAILABLE, `the ${request.kind} was stored but not applied: send it again (it will not be duplicated)`);
    }
    // Only what changed the message counts: a resend, or a second recall, changes nothing. The change
    // is in the store from here on (history shows it), whether or not it is passed on live.
    if (changed) {
      if (request.kind === "recall") await uncount(target, audience);
      deps.hooks?.changed?.(event, target);
    }
    const envelope = { audience, frame: eventFrame(event), feature: "edit" as const, except: connId, seq: event.seq ?? saved.seq };
    if (!(await deps.delivery.route(envelope, event.msgId, saved.duplicate ? undefined : now.getTime()))) {
      return refuse(ErrorCode.UNAVAILABLE, `the ${request.kind} was stored but could not be passed on: send it again (it will not be duplicated)`);
    }
    return saved;
  }

  /**
   * A recalled message stops counting unread: for its receiver unless it was signed read; in a group
   * for each member but its sender whose read position is before it (the counters a read recounts
   * leave recalled messages out too: lib/adapters/sql/queries.ts). Never fails the recall.
   */
  async function uncount(target: StoredMsg, audience: Audience): Promise<void> {
    try {
      if (audience.kind !== "members") {
        if (!target.isRead) await deps.unread.uncount([target.receiverId], target.senderId);
        return;
      }
      const positions = await deps.reads.positions(target.receiverId);
      const id = BigInt(target.msgId);
      const unreadBy = audience.userIds.filter((u) => u !== target.senderId && !(BigInt(positions.get(u) ?? "0") >= id));
      if (unreadBy.length) await deps.unread.uncount(unreadBy, target.receiverId);
    } catch (err) {
      deps.log.warn("unread.uncount_failed", { msgId: target.msgId, err });
    }
  }

  return {
    /** Carries out a recall, edit or delete of `userId` on connection `connId`; resolves to what its ack names (the event row). Throws a Refusal. */
    async handle(userId: string, connId: string, request: EditRequest): Promise<SaveResult> {
      if (request.kind === "edit") {
        if (!request.msg) refuse(ErrorCode.BAD_FRAME, "edit.msg: the new text must not be empty (recall the message instead)");
        if (request.msg.length > deps.maxMsgChars) refuse(ErrorCode.BAD_FRAME, `edit.msg: at most ${deps.maxMsgChars} characters`);
      }
      const target = await targetOf(request.msgId);
      if (request.kind === "delete") {
        if (!(await mayDelete(userId, target))) refuse(ErrorCode.FORBIDDEN, `message ${target.msgId} is not in one of your conversations`);
        return record(userId, connId, request, target, pairOf({ receiverId: userId, senderId: userId }));
      }
      checkOwnRecent(userId, target, request.kind);
      if (request.kind === "edit") {
        if (target.recalled) refuse(ErrorCode.FORBIDDEN, `message ${target.msgId} was recalled: it can no longer be edited`);
        if (target.msgType !== MsgType.WORDS) refuse(ErrorCode.BAD_FRAME, `message ${target.msgId} is not a text message (msgType 1): only text can be edited`);
      }
      return record(userId, connId, request, target, await audienceOf(userId, target));
    },
  };
}
