// Unread counters in Redis, with the seed's persistence queue (pitayafruits_exchange) as the durable
// path when Redis cannot take a count, and optionally as the seed's feed of every stored message.
import * as v from "valibot";
import type { Logger } from "../../log.ts";
import { CHAT_TYPES, ChatMsgSchema, formatChatTime, lineageChatMsg } from "../../protocol/frames.ts";
import { isMsgId } from "../../protocol/ids.ts";
import type { StoredMsg, UnreadCounters } from "../../core/ports.ts";
import type { RedisUnread } from "../redis/unread.ts";
import type { PersistQueue } from "./persist-queue.ts";

/** A ChatMsg on pitayafruits_queue, coerced as the lineage's Jackson does; what storing it needs. */
function chatMsgOf(json: string): StoredMsg | undefined {
  let parsed;
  try {
    parsed = v.safeParse(ChatMsgSchema, JSON.parse(json));
  } catch {
    return undefined;
  }
  if (!parsed.success) return undefined;
  const m = parsed.output;
  if (!m.senderId || !m.receiverId || !isMsgId(m.msgId) || !CHAT_TYPES.has(m.msgType ?? -1)) return undefined;
  const chatTime = m.chatTime && CHAT_TIME.test(m.chatTime) ? m.chatTime : formatChatTime(new Date());
  return { ...m, senderId: m.senderId, receiverId: m.receiverId, msgId: m.msgId, msgType: m.msgType!, chatTime, isRead: m.isRead ?? false, communicationType: m.communicationType ?? 1 };
}
const CHAT_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

/**
 * Counts in Redis (`chat_msg_list:<receiverId>`, HINCRBY merged into the tick's round trip); when
 * Redis cannot take a count, the stored ChatMsg goes on `pitayafruits_exchange` (persistent,
 * confirmed) instead and is counted from `pitayafruits_queue` when Redis is back, so no count is
 * lost. With `feed` on, every stored ChatMsg is published there as the seed did (for services of the
 * lineage that read the feed) and counted only by the queue's consumers. `consume()` starts this
 * instance's competing consumer, which counts what arrives (from either path, or from a seed
 * instance) and acks after the count is written: at least once, so a consumer dying between the
 * count and its ack makes a message count twice. `get`/`clear` read the Redis hash directly.
 */
export function createQueuedUnread(
  queue: Pick<PersistQueue, "publishChatMsg" | "consumeChatMsgs">,
  counters: RedisUnread,
  adopt: (msg: StoredMsg) => Promise<unknown>,
  log: Logger,
  feed = false,
) {
  // Only the lineage's fields: a seed service reading pitayafruits_queue refuses any other.
  const viaQueue = (msg: StoredMsg) => queue.publishChatMsg(JSON.stringify(lineageChatMsg(msg)));
  return {
    increment: feed
      ? (msg) => viaQueue(msg).catch(() => counters.increment(msg)) // with the broker down, count directly rather than not at all
      : (msg) => counters.increment(msg).catch(() => viaQueue(msg)),
    // Group messages count straight in Redis: one pipeline rather than a queue message per member.
    incrementMany: (receiverIds, senderId) => counters.incrementMany(receiverIds, senderId),
    get: (receiverId) => counters.get(receiverId),
    clear: (receiverId, senderId) => counters.clear(receiverId, senderId),
    set: (receiverId, senderId, count) => counters.set(receiverId, senderId, count),
    uncount: (receiverIds, senderId) => counters.uncount(receiverIds, senderId),
    /** Starts counting what arrives on `pitayafruits_queue`. */
    consume(): Promise<void> {
      return queue.consumeChatMsgs(async (json) => {
        const msg = chatMsgOf(json);
        // A malformed message from a foreign publisher is dropped (acked), never retried forever.
        if (!msg) return log.warn("unread.bad_chat_msg", { bytes: json.length });
        // Stored unless its msgId is (ours are; a seed instance's sendMsgToSave is not), then counted.
        await adopt(msg);
        await counters.increment(msg);
      });
    },
  } satisfies UnreadCounters & { consume(): Promise<void> };
}
