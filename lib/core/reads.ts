// Read state in groups: each member's read position (the newest msgId of the group it read, never
// moving back), its unread recomputed from it, one receipt per read to the senders it covers, and
// who read a message. The same rules for the WebSocket "read" frame and the HTTP routes.
import { encodeRead } from "../protocol/features.ts";
import { ErrorCode } from "../protocol/frames.ts";
import { GROUP_ID, GROUP_ID_RULE, MSG_ID_RULE, isMsgId } from "../protocol/ids.ts";
import type { Delivery } from "./delivery.ts";
import type { GroupReads, GroupStore, MessageStore, StoredMsg, UnreadCounters } from "./ports.ts";
import { Refusal, refuse } from "./refusal.ts";

export interface ReadsDeps {
  store: Pick<MessageStore, "get">;
  groups: Pick<GroupStore, "get" | "members">;
  reads: GroupReads;
  unread: Pick<UnreadCounters, "get" | "set">;
  delivery: Pick<Delivery, "route">;
}

/** Most unread messages a recount counts (a member far behind sees this many). */
export const UNREAD_RECOUNT_MAX = 10_000;
/** Most messages a read looks through for the senders its receipt goes to (the newest it covers). */
export const RECEIPT_SCAN_MAX = 500;

/** One member's read state in a group. */
export interface MemberReadState {
  userId: string;
  /** Its position: the newest msgId of the group it read; null before its first read. */
  msgId: string | null;
  /** Its unread counter for the group (`chat_msg_list:<userId>` field `<groupId>`). */
  unread: number;
}

/** True when decimal id `a` is at or after `b`. */
export const atOrAfter = (a: string, b: string) => a.length > b.length || (a.length === b.length && a >= b);

export type Reads = ReturnType<typeof createReads>;

export function createReads(deps: ReadsDeps) {
  /** Runs a store call; its failure is UNAVAILABLE (a Refusal passes through). */
  async function fromStore<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      if (err instanceof Refusal) throw err;
      return refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: try again later");
    }
  }

  /** The members of `groupId`, which `userId` must be one of; throws a Refusal (BAD_FRAME, NOT_FOUND, FORBIDDEN). */
  async function membersFor(groupId: string, userId: string): Promise<string[]> {
    if (!GROUP_ID.test(groupId)) return refuse(ErrorCode.BAD_FRAME, `groupId: must be a group id (${GROUP_ID_RULE})`);
    const [group, members] = await fromStore(Promise.all([deps.groups.get(groupId), deps.groups.members(groupId)]));
    if (!group) return refuse(ErrorCode.NOT_FOUND, `no group ${groupId}`);
    if (!members.includes(userId)) return refuse(ErrorCode.FORBIDDEN, `you are not a member of ${groupId}`);
    return members;
  }

  /** The message `msgId` of `groupId`; throws a Refusal (BAD_FRAME, NOT_FOUND). */
  async function messageOf(groupId: string, msgId: string | null | undefined): Promise<StoredMsg> {
    if (!isMsgId(msgId)) return refuse(ErrorCode.BAD_FRAME, `msgId: must be ${MSG_ID_RULE}`);
    const msg = await fromStore(deps.store.get(msgId));
    if (!msg || msg.receiverId !== groupId) return refuse(ErrorCode.NOT_FOUND, `msgId: no message ${msgId} in ${groupId}`);
    return msg;
  }

  return {
    /**
     * `userId` read `groupId` up to `msgId`: its position moves there (never back), its unread for
     * the group is recounted from the position, and if the position moved the senders of the
     * messages it passed (and `userId`'s other devices) that declared "reads" get one receipt
     * frame (not `exceptConn`). Resolves to the position and the unread; throws a Refusal.
     */
    async mark(userId: string, groupId: string, msgId: string | null | undefined, exceptConn?: string): Promise<{ msgId: string; unread: number }> {
      const members = await membersFor(groupId, userId);
      const msg = await messageOf(groupId, msgId);
      const { moved, previous } = await fromStore(deps.reads.advance(groupId, userId, msg.msgId));
      const position = moved || previous === undefined ? msg.msgId : previous;
      const unread = await fromStore(deps.reads.unreadAfter(groupId, userId, position, UNREAD_RECOUNT_MAX));
      await fromStore(deps.unread.set(userId, groupId, unread));
      if (moved) {
        const senders = await fromStore(deps.reads.sendersBetween(groupId, previous, msg.msgId, RECEIPT_SCAN_MAX));
        const audience = [userId, ...senders.filter((s) => s !== userId && members.includes(s))];
        await deps.delivery.route({ audience: { kind: "members", userIds: audience }, frame: encodeRead(groupId, userId, msg.msgId), feature: "reads", except: exceptConn });
      }
      return { msgId: position, unread };
    },

    /** Who of the group's members (the sender left out) read `msgId`, and who has not; `userId` must be a member. */
    async whoRead(userId: string, groupId: string, msgId: string | null | undefined) {
      const members = await membersFor(groupId, userId);
      const msg = await messageOf(groupId, msgId);
      const positions = await fromStore(deps.reads.positions(groupId));
      const readBy: string[] = [];
      const unreadBy: string[] = [];
      for (const member of members) {
        if (member === msg.senderId) continue;
        const at = positions.get(member);
        (at !== undefined && atOrAfter(at, msg.msgId) ? readBy : unreadBy).push(member);
      }
      return { groupId, msgId: msg.msgId, senderId: msg.senderId, readBy, unreadBy };
    },

    /**
     * Each member's position and unread counter, members in id order, one page of them (the
     * counters are read per member); `userId` must be a member.
     */
    async state(userId: string, groupId: string, page: number, pageSize: number) {
      const members = await membersFor(groupId, userId);
      const slice = members.slice((page - 1) * pageSize, page * pageSize);
      const [positions, counters] = await fromStore(Promise.all([deps.reads.positions(groupId), Promise.all(slice.map((u) => deps.unread.get(u)))]));
      const rows: MemberReadState[] = slice.map((u, i) => ({ userId: u, msgId: positions.get(u) ?? null, unread: counters[i][groupId] ?? 0 }));
      return { groupId, page, total: Math.ceil(members.length / pageSize), records: members.length, rows };
    },
  };
}
