// Presence in a real Redis (lib/adapters/redis/presence.ts): the two transition scripts against the
// session routes they read, watchers per user, last seen, and racing instances.
import { expect, test } from "bun:test";
import { createRedisPresence } from "../../lib/adapters/redis/presence.ts";
import { createRedisSessionRoutes } from "../../lib/adapters/redis/session-routes.ts";
import { silentLogger } from "../../lib/log.ts";
import { useFlushedRedis } from "../support/redis.ts";
import { REDIS_DB, redisUrl } from "../support/services.ts";

const useRedis = useFlushedRedis(redisUrl(REDIS_DB.sessionRoutes));
const live = new Set(["10.9.0.1_875", "10.9.0.2_875"]);
const isLive = (id: string) => live.has(id);
let n = 0;
/** Presence and routes of instance `instanceId` under a fresh key prefix shared by the calls of one test. */
function instance(instanceId: string, keyPrefix: string) {
  const redis = useRedis();
  return {
    presence: createRedisPresence(redis, { instanceId, isLive, keyPrefix }),
    routes: createRedisSessionRoutes({ redis, instanceId, isLive, log: silentLogger, keyPrefix }),
  };
}
const fresh = () => `tp${process.pid}-${++n}:`;

test("online once, offline once and only with no route left, last seen kept", async () => {
  const p = fresh();
  const a = instance("10.9.0.1_875", p);
  const b = instance("10.9.0.2_875", p);
  expect(await a.presence.query(["u1"])).toEqual([{ userId: "u1", online: false, lastSeen: null }]);
  await a.routes.add("u1", "c1");
  expect((await a.presence.markOnline("u1", 1000)).changed).toBe(true);
  await b.routes.add("u1", "c2");
  expect((await b.presence.markOnline("u1", 1100)).changed).toBe(false);
  await a.routes.remove("u1", "c1");
  expect((await a.presence.markOfflineIfGone("u1", 2000)).changed).toBe(false); // b still holds a device
  expect((await a.presence.query(["u1"]))[0].online).toBe(true);
  await b.routes.remove("u1", "c2");
  expect((await b.presence.markOfflineIfGone("u1", 3000)).changed).toBe(true);
  expect((await a.presence.markOfflineIfGone("u1", 3100)).changed).toBe(false);
  expect(await a.presence.query(["u1", "u2"])).toEqual([{ userId: "u1", online: false, lastSeen: 3000 }, { userId: "u2", online: false, lastSeen: null }]);
});

test("of instances racing to mark a user offline (two survivors after a purge), exactly one sees the change", async () => {
  const p = fresh();
  const a = instance("10.9.0.1_875", p);
  const b = instance("10.9.0.2_875", p);
  await a.presence.markOnline("u1", 1);
  const results = await Promise.all([a, b, a, b].map((i, k) => i.presence.markOfflineIfGone("u1", 10 + k)));
  expect(results.filter((r) => r.changed)).toHaveLength(1);
});

test("a transition names the live instances watching the user; an unwatch or a departed instance is left out", async () => {
  const p = fresh();
  const a = instance("10.9.0.1_875", p);
  const b = instance("10.9.0.2_875", p);
  const gone = instance("10.9.0.3_875", p); // not live
  await a.presence.watch("u1", true);
  await b.presence.watch("u1", true);
  await gone.presence.watch("u1", true);
  const on = await a.presence.markOnline("u1", 1);
  expect({ ...on, watchers: on.watchers.sort() }).toEqual({ changed: true, watchers: ["10.9.0.1_875", "10.9.0.2_875"] });
  await b.presence.watch("u1", false);
  expect(await a.presence.markOfflineIfGone("u1", 2)).toEqual({ changed: true, watchers: ["10.9.0.1_875"] });
  expect(await a.presence.markOfflineIfGone("u1", 3)).toEqual({ changed: false, watchers: [] });
});

test("users coming online in one turn are written by one script per 500, each told whether it changed and who watches it", async () => {
  const p = fresh();
  const redis = useRedis();
  let scripts = 0;
  const counting = {
    evalsha: (...args: Parameters<typeof redis.evalsha>) => (scripts++, redis.evalsha(...args)),
    eval: (...args: Parameters<typeof redis.eval>) => (scripts++, redis.eval(...args)),
    hmget: redis.hmget.bind(redis),
    hset: redis.hset.bind(redis),
    hdel: redis.hdel.bind(redis),
  } as unknown as Parameters<typeof createRedisPresence>[0];
  const presence = createRedisPresence(counting, { instanceId: "10.9.0.1_875", isLive, keyPrefix: p });
  await presence.watch("w2", true);
  expect((await presence.markOnline("w0", 500)).changed).toBe(true);
  await redis.script("FLUSH"); // the next call finds no script: EVALSHA fails, EVAL sends it
  scripts = 0;
  const users = Array.from({ length: 1200 }, (_, i) => `w${i % 600}`); // each user twice (two devices in one turn)
  const changes = await Promise.all(users.map((u) => presence.markOnline(u, 1000)));
  expect(scripts).toBe(3 + 1); // 3 chunks of 500 in turn; the first EVALSHA answered NOSCRIPT and the script was sent whole once
  // w0 was online already; each other user changes once, its second device not.
  expect(changes.filter((c) => c.changed).length).toBe(599);
  expect(changes[2].watchers).toEqual(["10.9.0.1_875"]);
  expect((await presence.query(["w1", "w599"])).every((x) => x.online)).toBe(true);
  scripts = 0;
  await Promise.all(["x1", "x2", "x3"].map((u) => presence.markOnline(u, 2000)));
  expect(scripts).toBe(1); // by SHA1 now
});
