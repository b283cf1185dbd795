// Unread counters in the seed lineage's Redis hashes `chat_msg_list:<receiverId>`.
import type Redis from "ioredis";
import type { UnreadCounters } from "../../core/ports.ts";

/** The Redis commands this module uses. */
export type UnreadRedis = Pick<Redis, "hincrby" | "hgetall" | "hset" | "pipeline">;

// One counter one less, never below 0 (a value that is not a positive integer is left as it is).
const UNCOUNT = `
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if n and n > 0 and n == math.floor(n) then return redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return n
`;

/** The counters; `increment` needs only who sent to whom (a ChatMsg read back from the queue will do). */
export type RedisUnread = Omit<UnreadCounters, "increment"> & { increment(msg: { receiverId: string; senderId: string }): Promise<void> };

/** `chat_msg_list:<receiverId>`: field senderId, value the unread count as a decimal string. */
export const unreadKey = (receiverId: string) => `chat_msg_list:${receiverId}`;

/**
 * Counts with HINCRBY and clears with HSET "0", as the seed lineage does, so a Java service
 * reading the same hash sees the same values; `get` includes cleared (0) senders, as the seed's
 * getMyUnReadCounts does, and skips values that are not integers. The Redis client is the
 * caller's.
 */
export function createRedisUnread(redis: UnreadRedis): RedisUnread {
  /** The increments of this turn of the event loop, merged per (receiver, sender), and their one outcome. */
  let turn: { counts: Map<string, Map<string, number>>; done: Promise<void> } | undefined;

  /** Writes a turn's counts in one pipeline: one HINCRBY … n per (receiver, sender), one promise for all. */
  async function flush(counts: Map<string, Map<string, number>>): Promise<void> {
    const p = redis.pipeline();
    for (const [receiverId, bySender] of counts) for (const [senderId, n] of bySender) p.hincrby(unreadKey(receiverId), senderId, n);
    const failed = ((await p.exec()) ?? []).find(([err]) => err);
    if (failed) throw failed[0];
  }

  return {
    /**
     * Counted with the other increments of the same turn (a store batch resolves together): one
     * round trip and one promise for all of them. Resolves once written; rejects, for every
     * increment of the turn, when Redis did not take them (the caller then counts another way).
     */
    increment({ receiverId, senderId }) {
      if (!turn) {
        const counts = new Map<string, Map<string, number>>();
        const done = new Promise<void>((resolve, reject) =>
          setImmediate(() => {
            turn = undefined;
            flush(counts).then(resolve, reject);
          }),
        );
        turn = { counts, done };
      }
      let bySender = turn.counts.get(receiverId);
      if (!bySender) turn.counts.set(receiverId, (bySender = new Map()));
      bySender.set(senderId, (bySender.get(senderId) ?? 0) + 1);
      return turn.done;
    },
    async incrementMany(receiverIds, senderId) {
      const p = redis.pipeline();
      for (const receiverId of receiverIds) p.hincrby(unreadKey(receiverId), senderId, 1);
      const results = (await p.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async get(receiverId) {
      const counts: Record<string, number> = {};
      for (const [senderId, value] of Object.entries(await redis.hgetall(unreadKey(receiverId)))) {
        const n = Number(value);
        if (Number.isInteger(n)) counts[senderId] = n;
      }
      return counts;
    },
    async clear(receiverId, senderId) {
      await redis.hset(unreadKey(receiverId), senderId, "0");
    },
    async set(receiverId, senderId, count) {
      await redis.hset(unreadKey(receiverId), senderId, String(count));
    },
    async uncount(receiverIds, senderId) {
      const p = redis.pipeline();
      for (const receiverId of receiverIds) p.eval(UNCOUNT, 1, unreadKey(receiverId), senderId);
      const failed = ((await p.exec()) ?? []).find(([err]) => err);
      if (failed) throw failed[0];
    },
  };
}
