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
