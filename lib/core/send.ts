// The send pipeline of one chat message: check it, store it, count it unread, route it, ack it.
import { everyInterval, failureStreak, type Logger } from "../log.ts";
import { ErrorCode, MsgType, encodeDataContent, formatChatTime, formatFrameTime, type ChatMsg } from "../protocol/frames.ts";
import { EVERYONE, GROUP_PREFIX, SYSTEM_SENDER, isGroupId, receiverIdProblem } from "../protocol/ids.ts";
import type { Delivery } from "./delivery.ts";
import {
  StoreRefusedError,
  type Audience, type CoreMetrics, type MessageHooks, type GroupStore, type Ids, type MessageBus, type MessageStore, type SaveResult, type StoredMsg, type UnreadCounters,
} from "./ports.ts";
import { refuse } from "./refusal.ts";

export interface SendDeps {
  store: MessageStore;
  groups: GroupStore;
  unread: UnreadCounters;
  ids: Ids;
  bus: Pick<MessageBus, "acceptsMore">;
  delivery: Delivery;
  metrics: CoreMetrics;
  log: Logger;
  /** Longest `msg` in characters. */
  maxMsgChars: number;
  now: () => number;
  /**
   * True in a cluster: the first attempt of a resend may have died on its instance between store
   * and publish, so the stored message is handed on again (receivers drop duplicates by msgId).
   * False standalone: the first attempt was delivered in this process right after it was stored.
   */
  redeliverResends: boolean;
  /**
   * Bound on waiting for the store (a silent partition from PostgreSQL would hold the sender
   * forever): past it the sender is told UNAVAILABLE and resends. The write may still land; the
   * resend then finds it by (senderId, clientMsgId) and hands it on under its first msgId.
   */
  storeTimeoutMs: number;
  /** Told of each new message once it is handed on (not of resends). */
  hooks?: MessageHooks;
}

/** 1:1 frames go to the receiver's connections and the sender's other ones. */
export const pairOf = (m: { receiverId: string; senderId: string }): Audience => ({ kind: "pair", receiverId: m.receiverId, senderId: m.senderId });

/** `yyyy/MM/dd HH:mm:ss` of a stored message's chatTime (DataContent.chatTime). */
export const frameTimeOf = (m: StoredMsg) => m.chatTime.replaceAll("-", "/");

export type Send = ReturnType<typeof createSend>;

class StoreTimeout extends Error {}

export function createSend(deps: SendDeps) {
  const { store, metrics } = deps;
  const unreadWrites = failureStreak(deps.log, "unread.increment_failed");
  const storeTimeouts = everyInterval(deps.log, "store.timeout");

  /** The receiver, checked with the message's text. */
  function checked(chatMsg: ChatMsg): string {
    const receiverId = chatMsg.receiverId;
    const problem = receiverIdProblem(receiverId);
    if (problem || !receiverId) return refuse(ErrorCode.BAD_FRAME, `chatMsg.receiverId: ${problem}`);
    if (chatMsg.msgType === MsgType.WORDS && !chatMsg.msg) return refuse(ErrorCode.BAD_FRAME, "chatMsg.msg: text messages need a non-empty msg");
    if (chatMsg.msg && chatMsg.msg.length > deps.maxMsgChars) return refuse(ErrorCode.BAD_FRAME, `chatMsg.msg: at most ${deps.maxMsgChars} characters`);
    return receiverId;
  }

  /** Who gets a chat message: its pair, or its group's members (read now: a change applies at once). */
  async function audienceOf(senderId: string, receiverId: string, chatMsg: ChatMsg): Promise<{ audience: Audience; toGroup: boolean }> {
    const toGroup = chatMsg.communicationType === 2 || isGroupId(receiverId);
    if (!toGroup) return { audience: pairOf({ receiverId, senderId }), toGroup };
    if (!isGroupId(receiverId)) return refuse(ErrorCode.BAD_FRAME, `chatMsg.receiverId: a group id ("${GROUP_PREFIX}…") is required with communicationType 2`);
    let members: string[];
    try {
      members = await deps.groups.members(receiverId);
    } catch {
      return refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: resend later");
    }
    if (members.length === 0) return refuse(ErrorCode.NOT_FOUND, `no group ${receiverId}`);
    if (!members.includes(senderId)) return refuse(ErrorCode.FORBIDDEN, `you are not a member of ${receiverId}`);
    return { audience: { kind: "members", userIds: members }, toGroup };
  }

  /** `store.save`, or a StoreTimeout once `storeTimeoutMs` have passed without an answer. */
  function saveBounded(msg: StoredMsg): Promise<SaveResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeout()), deps.storeTimeoutMs);
      (timer as { unref?: () => void }).unref?.();
    });
    return Promise.race([store.save(msg), late]).finally(() => clearTimeout(timer));
  }

  async function stored(msg: StoredMsg): Promise<SaveResult> {
    const started = performance.now();
    try {
      const saved = await saveBounded(msg);
      metrics.stored((performance.now() - started) / 1000);
      return saved;
    } catch (err) {
      if (err instanceof StoreRefusedError) return refuse(ErrorCode.BAD_FRAME, err.message);
      metrics.storeFailed();
      if (err instanceof StoreTimeout) {
        storeTimeouts({ afterMs: deps.storeTimeoutMs });
        return refuse(ErrorCode.UNAVAILABLE, `the store did not answer within ${deps.storeTimeoutMs} ms: resend it (it will not be duplicated)`);
      }
      return refuse(ErrorCode.UNAVAILABLE, "the message was not stored: resend it later");
    }
  }

  /** Counts the message unread for its receivers; resolves (never rejects) once counted or logged as not. */
  function countUnread(msg: StoredMsg, audience: Audience): Promise<void> {
    const counted =
      audience.kind === "members" ? deps.unread.incrementMany(audience.userIds.filter((u) => u !== msg.senderId), msg.receiverId) : deps.unread.increment(msg);
    return counted.then(unreadWrites.ok, (err) => unreadWrites.fail({ err }));
  }

  /**
   * A resend of a message stored before, whose first attempt may never have been handed on (its
   * instance died, or the bus failed, after the store): hand on the stored message again, under
   * its own msgId. No per-message record of "handed on" is kept: that would cost a write per
   * message for the rare resend.
   */
  async function redeliver(saved: SaveResult, connId: string): Promise<boolean> {
    if (!deps.redeliverResends) return true;
    const first = await store.get(saved.msgId);
    if (!first) return true;
    const audience: Audience = isGroupId(first.receiverId) ? { kind: "members", userIds: await deps.groups.members(first.receiverId) } : pairOf(first);
    const frame = encodeDataContent({ chatMsg: first, chatTime: frameTimeOf(first), extend: connId });
    return deps.delivery.route({ audience, frame, except: connId, seq: first.seq }, first.msgId);
  }

  return {
    /** Stores one row within the store's bound; throws a Refusal (BAD_FRAME, UNAVAILABLE) the sender is told about. */
    stored,

    /**
     * Sends `chatMsg` from `senderId` on connection `connId`; resolves to what the ack names once
     * the message is stored and handed on. Throws a Refusal the sender is told about.
     */
    async chat(senderId: string, connId: string, chatMsg: ChatMsg): Promise<SaveResult> {
      const receiverId = checked(chatMsg);
      const { audience, toGroup } = await audienceOf(senderId, receiverId, chatMsg);
      if (!deps.bus.acceptsMore) return refuse(ErrorCode.UNAVAILABLE, "the cluster's message bus is down and its backlog is full: resend later");
      const now = new Date(deps.now());
      const msg: StoredMsg = {
        ...chatMsg, senderId, receiverId, msgType: chatMsg.msgType!, msgId: deps.ids.next(),
        chatTime: formatChatTime(now), isRead: false, communicationType: toGroup ? 2 : 1,
      };
      const saved = await stored(msg);
      let delivered: boolean;
      if (saved.duplicate) delivered = await redeliver(saved, connId);
      else {
        // Counted and routed in the same tick, and both done before the ack: acked ⇒ counted.
        const frame = encodeDataContent({ chatMsg: msg, chatTime: formatFrameTime(now), extend: connId });
        const envelope = { audience, frame, except: connId, seq: saved.seq };
        [delivered] = await Promise.all([deps.delivery.route(envelope, msg.msgId, now.getTime()), countUnread(msg, audience)]);
        if (delivered) deps.hooks?.stored(msg, audience);
      }
      if (!delivered) return refuse(ErrorCode.UNAVAILABLE, "the message was stored but could not be passed on: resend it (it will not be duplicated)");
      return saved;
    },

    /**
     * A system message to every connected user of the cluster (through fanout_exchange), stored
     * from SYSTEM_SENDER to EVERYONE so that it is replayed after reconnect too.
     */
    async broadcast(text: string): Promise<{ msgId: string; chatTime: string }> {
      const now = new Date();
      const msg: StoredMsg = {
        senderId: SYSTEM_SENDER, receiverId: EVERYONE, msg: text, msgType: MsgType.WORDS,
        msgId: deps.ids.next(), chatTime: formatChatTime(now), isRead: false, communicationType: 1,
      };
      const { seq } = await store.save(msg);
      const frame = encodeDataContent({ chatMsg: msg, chatTime: formatFrameTime(now), extend: null });
      if (!(await deps.delivery.route({ audience: { kind: "everyone" }, frame, seq }, msg.msgId))) {
        throw new Error("the broadcast is stored but the bus did not take it; it reaches users on replay");
      }
      return { msgId: msg.msgId, chatTime: msg.chatTime };
    },
  };
}
