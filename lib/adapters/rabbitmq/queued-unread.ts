// Unread counters through the seed's persistence queue: stored messages go to pitayafruits_exchange,
// and a competing consumer counts them in Redis, acking after the count is written.
import * as v from "valibot";
import type { Logger } from "../../log.ts";
import type { UnreadCounters } from "../../core/ports.ts";
import type { RedisUnread } from "../redis/unread.ts";
import type { PersistQueue } from "./persist-queue.ts";

const Counted = v.object({ senderId: v.string(), receiverId: v.string(), msgId: v.optional(v.string()) });

/**
 * `increment(msg)` publishes the stored ChatMsg (persistent, confirmed) on `pitayafruits_exchange`
 * with routing key `pitayafruits.wechat.send`, as the seed did; `consume()` starts this instance's
 * competing consumer of `pitayafruits_queue`, which bumps `chat_msg_list:<receiverId>` and then
 * acks. The message itself is already in the SQL store before the sender's ack, so the queue
 * carries only the after-store work and the feed other services of the seed lineage read.
 * Delivery is at least once: a consumer that dies between the count and its ack makes the
 * message count twice. `get`/`clear` read the Redis hash directly.
 */
export function createQueuedUnread(queue: Pick<PersistQueue, "publishChatMsg" | "consumeChatMsgs">, counters: RedisUnread, log: Logger) {
  return {
    // With the broker down, count directly in Redis rather than not at all.
    increment: (msg) => queue.publishChatMsg(JSON.stringify(msg)).catch(() => counters.increment(msg)),
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
