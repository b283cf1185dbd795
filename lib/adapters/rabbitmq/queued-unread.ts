// Unread counters in Redis, with the seed's persistence queue (pitayafruits_exchange) as the durable
// path when Redis cannot take a count, and optionally as the seed's feed of every stored message.
import * as v from "valibot";
import type { Logger } from "../../log.ts";
import type { StoredMsg, UnreadCounters } from "../../core/ports.ts";
import type { RedisUnread } from "../redis/unread.ts";
import type { PersistQueue } from "./persist-queue.ts";

const Counted = v.object({ senderId: v.string(), receiverId: v.string(), msgId: v.optional(v.string()) });

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
export function createQueuedUnread(queue: Pick<PersistQueue, "publishChatMsg" | "consumeChatMsgs">, counters: RedisUnread, log: Logger, feed = false) {
  const viaQueue = (msg: StoredMsg) => queue.publishChatMsg(JSON.stringify(msg));
  return {
    increment: feed
      ? (msg) => viaQueue(msg).catch(() => counters.increment(msg)) // with the broker down, count directly rather than not at all
      : (msg) => counters.increment(msg).catch(() => viaQueue(msg)),
    // Group messages count straight in Redis: one pipeline rather than a queue message per member.
    incrementMany: (receiverIds, senderId) => counters.incrementMany(receiverIds, senderId),
    get: (receiverId) => counters.get(receiverId),
    clear: (receiverId, senderId) => counters.clear(receiverId, senderId),
    /** Starts counting what arrives on `pitayafruits_queue`. */
    consume(): Promise<void> {
      return queue.consumeChatMsgs(async (json) => {
        let parsed;
        try {
          parsed = v.safeParse(Counted, JSON.parse(json));
        } catch {
          parsed = undefined;
        }
        // A malformed message from a foreign publisher is dropped (acked), never retried forever.
        if (!parsed?.success) return log.warn("unread.bad_chat_msg", { bytes: json.length });
        await counters.increment(parsed.output);
      });
    },
  } satisfies UnreadCounters & { consume(): Promise<void> };
}
