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

// KEYS[1] the presence hash, KEYS[1 + i] user i's watchers; ARGV[1] now, ARGV[1 + i] user i.
// Returns per user the watching instances with a leading 1 when it was not online before, else {0}.
const MARK_ONLINE_MANY = `
local out = {}
for i = 2, #KEYS do
  local user = ARGV[i]
  local v = redis.call('HGET', KEYS[1], user)
  if v and string.sub(v, 1, 1) == '1' then
    out[i - 1] = {0}
  else
    redis.call('HSET', KEYS[1], user, '1:' .. ARGV[1])
    local w = redis.call('HKEYS', KEYS[i])
    table.insert(w, 1, 1)
    out[i - 1] = w
  end
end
return out`;

/** Most users in one online script (a reconnect storm is written in chunks of this many). */
const ONLINE_CHUNK = 500;

interface OnlineWait {
  userId: string;
  resolve(change: PresenceChange): void;
  reject(err: unknown): void;
}

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

const markOnlineScript = script(MARK_ONLINE_MANY);
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
  /** The users coming online in this turn of the event loop, written together (a storm: 10,000 in 20 scripts). */
  let turn: OnlineWait[] | undefined;
  let turnAt = 0;

  async function writeOnline(users: OnlineWait[], at: number): Promise<void> {
    for (let i = 0; i < users.length; i += ONLINE_CHUNK) {
      const chunk = users.slice(i, i + ONLINE_CHUNK);
      try {
        const replies = (await markOnlineScript(redis, [hash, ...chunk.map((u) => watchKey(u.userId))], [String(at), ...chunk.map((u) => u.userId)])) as unknown[];
        chunk.forEach((u, k) => u.resolve(change(replies[k])));
      } catch (err) {
        for (const u of chunk) u.reject(err);
      }
    }
  }

  return {
    /** Batched with the other users of the same turn; `at` of the turn's first is recorded for all (the same millisecond or so). */
    markOnline(userId, at) {
      return new Promise<PresenceChange>((resolve, reject) => {
        if (!turn) {
          const users: OnlineWait[] = (turn = []);
          turnAt = at;
          setImmediate(() => {
            turn = undefined;
            void writeOnline(users, turnAt);
          });
        }
        turn.push({ userId, resolve, reject });
      });
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
