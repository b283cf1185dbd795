// Presence in Redis: one hash `im:presence`, field userId, value `1:<ms>` (online since) or
// `0:<ms>` (offline, last seen), and per watched user a hash `im:pwatch:<userId>` of the instances
// with subscribers to it. Each transition is one Lua script, so of several instances racing only
// one sees the change, and the same round trip says where to announce it.
import { createHash } from "node:crypto";
import type Redis from "ioredis";
import type { PresenceChange, PresenceStore } from "../../core/ports.ts";

/** The Redis commands this module uses. */
export type PresenceRedis = Pick<Redis, "eval" | "evalsha" | "hmget" | "hset" | "hdel">;

/** A Lua script run by its SHA1 (EVALSHA), sent whole only when Redis does not have it yet (NOSCRIPT). */
function script(body: string) {
  const sha = createHash("sha1").update(body).digest("hex");
  return async (redis: PresenceRedis, keys: string[], args: string[]): Promise<unknown> => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith("NOSCRIPT")) throw err;
      return redis.eval(body, keys.length, ...keys, ...args);
    }
  };
}

// KEYS[1] the presence hash, KEYS[2] the user's watchers; ARGV user, now.
// Returns the watching instances with a leading 1 when the user was not online before, else {0}.
const MARK_ONLINE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, 1) == '1' then return {0} end
redis.call('HSET', KEYS[1], ARGV[1], '1:' .. ARGV[2])
local out = redis.call('HKEYS', KEYS[2])
table.insert(out, 1, 1)
return out`;

// KEYS[1] the presence hash, KEYS[2] the user's watchers, KEYS[3] its session routes
// (im:sess:<user>); ARGV user, at. Entries of an instance that died stay until the survivors purge
// them (then they check again).
const MARK_OFFLINE_IF_GONE = `
if redis.call('HLEN', KEYS[3]) > 0 then return {0} end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, 1) == '0' then return {0} end
redis.call('HSET', KEYS[1], ARGV[1], '0:' .. ARGV[2])
local out = redis.call('HKEYS', KEYS[2])
table.insert(out, 1, 1)
return out`;

const markOnlineScript = script(MARK_ONLINE);
const markOfflineScript = script(MARK_OFFLINE_IF_GONE);

export interface RedisPresenceOptions {
  /** This instance, `<ip>_<port>` (what `watch` records). */
  instanceId: string;
  /** True while an instance is in the registry's view: watchers of departed instances are skipped. */
  isLive(instanceId: string): boolean;
  /** Prefix of every key, as the session routes' (default `im:`), whose `sess:` hashes it reads. */
  keyPrefix?: string;
}

/** Presence on `redis` (the client is the caller's). */
export function createRedisPresence(redis: PresenceRedis, options: RedisPresenceOptions): PresenceStore {
  const prefix = options.keyPrefix ?? "im:";
  const hash = `${prefix}presence`;
  const watchKey = (userId: string) => `${prefix}pwatch:${userId}`;
  const change = (reply: unknown): PresenceChange => {
    const [flag, ...ids] = reply as [number, ...string[]];
    return { changed: flag === 1, watchers: ids.filter((id) => options.isLive(id)) };
  };
  return {
    async markOnline(userId, at) {
      return change(await markOnlineScript(redis, [hash, watchKey(userId)], [userId, String(at)]));
    },
    async markOfflineIfGone(userId, at) {
      return change(await markOfflineScript(redis, [hash, watchKey(userId), `${prefix}sess:${userId}`], [userId, String(at)]));
    },
    async watch(userId, watching) {
      if (watching) await redis.hset(watchKey(userId), options.instanceId, "1");
      else await redis.hdel(watchKey(userId), options.instanceId);
    },
    async query(userIds) {
      if (userIds.length === 0) return [];
      const values = await redis.hmget(hash, ...userIds);
      return userIds.map((userId, i) => {
        const v = values[i];
        const online = v?.startsWith("1:") ?? false;
        const at = v ? Number(v.slice(2)) : NaN;
        return { userId, online, lastSeen: !online && Number.isFinite(at) ? at : null };
      });
    },
  };
}
