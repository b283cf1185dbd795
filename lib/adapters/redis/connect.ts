// The Redis connection of a cluster instance: every command bounded, and a liveness check that
// notices a silent partition (the socket stays open, nothing comes back) and drops the connection.
import Redis from "ioredis";
import type { Logger } from "../../log.ts";

export interface RedisLink {
  readonly redis: Redis;
  /** "ok", or why Redis cannot be used now. */
  health(): Promise<string>;
  close(): Promise<void>;
}

export interface RedisLinkOptions {
  url: string;
  /** Bound on each command, and the liveness PING's period and bound. */
  timeoutMs: number;
  log: Logger;
}

/**
 * Connects. Liveness: a PING every `timeoutMs`; the first one unanswered within `timeoutMs` fails
 * /health, the second in a row drops the connection, so that commands fail at once instead of
 * each waiting out its bound (routes then broadcast, counts take the persistence queue) and
 * ioredis reconnects once Redis answers again (the routes' `ready` listeners then resync). A silent
 * partition is thus seen within 2 × `timeoutMs` and acted on within 3 × `timeoutMs`.
 */
export async function connectRedis({ url, timeoutMs, log }: RedisLinkOptions): Promise<RedisLink> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // A command caught by a disconnect fails rather than being re-sent to a Redis that may have
    // come back empty (a route lookup answered there would send a message nowhere).
    maxRetriesPerRequest: 0,
    // Commands issued in one tick (route lookups, counters) share one round trip.
    enableAutoPipelining: true,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(3 * timeoutMs, 2000),
    retryStrategy: (times) => Math.min(100 * 2 ** times, 5000) + Math.floor(Math.random() * 200),
  });
  redis.on("error", () => {}); // its state is in /health; routes and counters log their failures once
  await redis.connect().catch((err) => {
    throw new Error(`cannot connect to Redis at ${url}: ${err.message}`);
  });

  let unanswered = 0;
  const liveness = setInterval(() => {
    if (redis.status !== "ready") return void (unanswered = 0);
    redis.ping().then(
      () => void (unanswered = 0),
      (err) => {
        if (++unanswered < 2 || redis.status !== "ready") return;
        log.warn("redis.unresponsive", { err, timeoutMs, hint: "dropping the connection; routes broadcast and counts take the queue until Redis answers" });
        unanswered = 0;
        redis.disconnect(true);
      },
    );
  }, timeoutMs);
  liveness.unref?.();

  return {
    redis,
    async health() {
      if (redis.status !== "ready") return `redis: ${redis.status}`;
      return unanswered ? `redis: no answer to PING within ${timeoutMs} ms` : "ok";
    },
    async close() {
      clearInterval(liveness);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
