// Delivery marks in Redis: `im:pub:<msgId>` with a TTL of the dedupe window.
import type Redis from "ioredis";
import type { DeliveryMarks } from "../../core/ports.ts";
import { failureStreak, type Logger } from "../../log.ts";

/**
 * One SET per delivered message (pipelined by the client, not awaited on the hot path). A missing
 * mark is read as "not delivered": the resend is routed again, and receivers drop the duplicate by
 * msgId if it did arrive — at least once, never silently lost.
 */
export function createRedisDeliveryMarks(redis: Pick<Redis, "set" | "exists">, log: Logger, ttlS = 900): DeliveryMarks {
  const writes = failureStreak(log, "delivery_mark.failed");
  return {
    mark(msgId) {
      redis.set(`im:pub:${msgId}`, "1", "EX", ttlS).then(writes.ok, (err) => writes.fail({ err }));
    },
    async isMarked(msgId) {
      try {
        return (await redis.exists(`im:pub:${msgId}`)) === 1;
      } catch {
        return false; // unknown: deliver again rather than risk never delivering
      }
    },
  };
}
