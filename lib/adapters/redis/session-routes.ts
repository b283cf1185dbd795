// Session routes in Redis: which instances hold which connections of every user (all devices).
import type Redis from "ioredis";
import type { Logger } from "../../log.ts";
import { MISSED_MARK_TTL_MS, type SessionRoutes } from "../../core/ports.ts";

/** The Redis commands this module uses. */
export type RoutesRedis = Pick<Redis, "multi" | "pipeline" | "hgetall" | "hvals" | "hlen" | "get" | "ping" | "status" | "on">;

export interface RedisSessionRoutesOptions {
  redis: RoutesRedis;
  /** This instance, `<ip>_<port>`. */
  instanceId: string;
  /** True while an instance is in the registry's view; routes of other instances are ignored. */
  isLive: (instanceId: string) => boolean;
  log: Logger;
  /** Prefix of every key (default `im:`). */
  keyPrefix?: string;
}

export interface RedisSessionRoutes extends SessionRoutes {
  /** "ok" or a short reason. */
  health(): Promise<string>;
  /** Removes this instance's entries (a clean stop); the Redis client stays the caller's. */
  close(): Promise<void>;
}

/** Thrown at once, instead of queueing, while the Redis client is reconnecting. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
  readonly code = "UNAVAILABLE";
  constructor(status: string) {
    super(`redis unavailable (${status})`);
  }
}

const CHUNK = 1000;

/**
 * Session routes on two hashes per key prefix `p` (default `im:`):
 *
 * - `p + "sess:" + userId` — field `<instanceId>#<connId>`, value `<instanceId>`: one field per
 *   connection, so devices on any number of instances coexist (the seed kept one key per user and
 *   the last device won). `lookup` reads the values of these hashes only: one HVALS per user. The instance id in the field keeps connection ids of different
 *   instances apart even if they are not unique cluster-wide.
 * - `p + "inst:" + instanceId` — field `<connId>`, value `<userId>`: what one instance holds, so
 *   its entries can be purged when it dies, or rewritten after Redis lost them, without a scan.
 *
 * Call `rebuild([])` once at start, before this instance registers, so that entries a previous
 * process with the same `<ip>_<port>` left behind do not linger. The Redis client is the caller's:
 * `close()` removes this instance's entries but does not disconnect it.
 */
export function createRedisSessionRoutes(options: RedisSessionRoutesOptions): RedisSessionRoutes {
  const { redis, instanceId, isLive, log } = options;
  const prefix = options.keyPrefix ?? "im:";
  const sessKey = (userId: string) => `${prefix}sess:${userId}`;
  const instKey = (id: string) => `${prefix}inst:${id}`;
  const missedKey = (userId: string) => `${prefix}missed:${userId}`;
  const ownCount = () => redis.hlen(instKey(instanceId));
  const field = (id: string, connId: string) => `${id}#${connId}`;
  let closed = false;

  const ensureUp = () => {
    // ioredis would queue commands until it reconnects, and send them once the reconnected (perhaps
    // empty) Redis is ready; a chat message should fail fast (and be broadcast) instead.
    if (redis.status !== "ready") {
      throw new RedisUnavailableError(redis.status);
    }
  };

  const exec = async (pipe: ReturnType<RoutesRedis["pipeline"]>) => {
    const results = (await pipe.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    return results;
  };

  // The per-message read: one HVALS per user, merged with every other command of the tick into one
  // round trip by the client's auto-pipelining.
  const readInstances = (userIds: readonly string[]): Promise<string[][]> => Promise.all(userIds.map((u) => redis.hvals(sessKey(u))));

  // Deletes [userId, connId] entries of instance `id` in chunked pipelines.
  const deleteEntries = async (id: string, entries: [userId: string, connId: string][]) => {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const pipe = redis.pipeline();
      for (const [userId, connId] of entries.slice(i, i + CHUNK)) {
        pipe.hdel(sessKey(userId), field(id, connId));
        pipe.hdel(instKey(id), connId);
      }
      await exec(pipe);
    }
  };

  /**
   * `p + "missed:" + userId`: since when (ms) the user may have missed live messages. Purges come
   * in time order, so the mark already there is the earliest: NX keeps it, PEXPIRE extends it.
   */
  const markMissed = async (userIds: string[], sinceMs: number) => {
    for (let i = 0; i < userIds.length; i += CHUNK) {
      const pipe = redis.pipeline();
      for (const userId of userIds.slice(i, i + CHUNK)) {
        pipe.set(missedKey(userId), String(sinceMs), "PX", MISSED_MARK_TTL_MS, "NX");
        pipe.pexpire(missedKey(userId), MISSED_MARK_TTL_MS);
      }
      await exec(pipe);
    }
  };

  const purgeInstance = async (id: string, missedSinceMs?: number): Promise<number> => {
    // The same <ip>_<port> may already be back (a restart on the same port): its entries are new.
    if (id !== instanceId && isLive(id)) {
      log.info("routes.purge_skipped", { instance: id, reason: "instance is live again" });
      return 0;
    }
    ensureUp();
    const held = Object.entries(await redis.hgetall(instKey(id))).map(([connId, userId]): [string, string] => [userId, connId]);
    if (missedSinceMs !== undefined && held.length) await markMissed([...new Set(held.map(([userId]) => userId))], missedSinceMs);
    await deleteEntries(id, held);
    if (held.length) log.info("routes.purged", { instance: id, entries: held.length });
    return held.length;
  };

  return {
    ownCount,
    async add(userId, connId) {
      ensureUp();
      await exec(redis.multi().hset(sessKey(userId), field(instanceId, connId), instanceId).hset(instKey(instanceId), connId, userId));
    },

    async remove(userId, connId) {
      ensureUp();
      await exec(redis.multi().hdel(sessKey(userId), field(instanceId, connId)).hdel(instKey(instanceId), connId));
    },

    async lookup(userIds) {
      if (userIds.length === 0) return [];
      ensureUp();
      const live = new Set<string>();
      for (const ids of await readInstances(userIds)) for (const id of ids) if (isLive(id)) live.add(id);
      return [...live];
    },

    purgeInstance,

    async missedSince(userId) {
      ensureUp();
      const value = await redis.get(missedKey(userId));
      return value === null ? undefined : Number(value);
    },

    async usersOf(id) {
      ensureUp();
      return redis.hvals(instKey(id));
    },

    // Every "ready" after the first connection is a reconnect: Redis may have come back empty.
    onReset(listener) {
      redis.on("ready", listener);
    },

    async rebuild(entries) {
      ensureUp();
      const want = new Map<string, string>();
      for (const [userId, connId] of entries) want.set(connId, userId);
      // Only stale entries are deleted, so lookups keep finding the live ones meanwhile.
      const stale = Object.entries(await redis.hgetall(instKey(instanceId)))
        .filter(([connId, userId]) => want.get(connId) !== userId)
        .map(([connId, userId]): [string, string] => [userId, connId]);
      await deleteEntries(instanceId, stale);
      const wanted = [...want];
      for (let i = 0; i < wanted.length; i += CHUNK) {
        const pipe = redis.pipeline();
        for (const [connId, userId] of wanted.slice(i, i + CHUNK)) {
          pipe.hset(sessKey(userId), field(instanceId, connId), instanceId);
          pipe.hset(instKey(instanceId), connId, userId);
        }
        await exec(pipe);
      }
      log.debug("routes.written", { entries: want.size, stale: stale.length });
    },

    async health() {
      if (redis.status !== "ready") return `redis: ${redis.status === "reconnecting" ? "disconnected (reconnecting)" : redis.status}`;
      try {
        await redis.ping();
        return "ok";
      } catch (err) {
        return `redis: ${err instanceof Error ? err.message : String(err)}`;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      try {
        await purgeInstance(instanceId);
      } catch (err) {
        log.warn("routes.close_purge_failed", { err });
      }
    },
  };
}
