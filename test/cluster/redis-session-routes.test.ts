// Session routes against a real Redis: multi-device, dead instances, purge and rebuild.
import { describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { useFlushedRedis } from "../support/redis.ts";
import { createRedisSessionRoutes, RedisUnavailableError } from "../../lib/adapters/redis/session-routes.ts";
import { silentLogger } from "../../lib/log.ts";
import { MISSED_MARK_TTL_MS } from "../../lib/core/ports.ts";
import { REDIS_DB, redisUrl } from "../support/services.ts";

const REDIS_URL = redisUrl(REDIS_DB.sessionRoutes);
const useRedis = useFlushedRedis(REDIS_URL);
const live = new Set<string>();
const isLive = (id: string) => live.has(id);
// A fresh key prefix per test keeps the tests independent without flushing between them.
let n = 0;
const routesOf = (instanceId: string, keyPrefix: string) =>
  createRedisSessionRoutes({ redis: useRedis(), instanceId, isLive, log: silentLogger, keyPrefix });
const freshPrefix = () => `t${process.pid}-${++n}:`;


describe("redis session routes", () => {
  test("a user's devices on several instances are all found, and each instance only once", async () => {
    const p = freshPrefix();
    const [a, b, c] = ["10.0.0.1_875", "10.0.0.1_885", "10.0.0.2_875"].map((id) => (live.add(id), routesOf(id, p)));
    await a.add("u1", "c1");
    await a.add("u1", "c2");
    await b.add("u1", "c1"); // the same connection id on another instance is another connection
    await c.add("u2", "c9");
    expect((await a.lookup(["u1"])).sort()).toEqual(["10.0.0.1_875", "10.0.0.1_885"]);
    expect((await b.lookup(["u1", "u2", "nobody"])).sort()).toEqual(["10.0.0.1_875", "10.0.0.1_885", "10.0.0.2_875"]);
    expect(await c.lookup([])).toEqual([]);
  });

  test("removing one device keeps the user's other devices routable", async () => {
    const p = freshPrefix();
    live.add("10.0.1.1_875").add("10.0.1.1_885");
    const a = routesOf("10.0.1.1_875", p);
    const b = routesOf("10.0.1.1_885", p);
    await a.add("u1", "c1");
    await b.add("u1", "c2");
    await a.remove("u1", "c1");
    expect(await a.lookup(["u1"])).toEqual(["10.0.1.1_885"]);
    await b.remove("u1", "c2");
    expect(await a.lookup(["u1"])).toEqual([]);
    expect(await useRedis().exists(`${p}sess:u1`, `${p}inst:10.0.1.1_875`, `${p}inst:10.0.1.1_885`)).toBe(0);
  });

  test("entries of an instance that is not live are ignored, then purged by purgeInstance", async () => {
    const p = freshPrefix();
    live.add("10.0.2.1_875").add("10.0.2.1_885");
    const alive = routesOf("10.0.2.1_875", p);
    const dying = routesOf("10.0.2.1_885", p);
    await alive.add("u1", "c1");
    await dying.add("u1", "c2");
    await dying.add("u2", "c3");
    live.delete("10.0.2.1_885");
    expect(await alive.lookup(["u1", "u2"])).toEqual(["10.0.2.1_875"]);
    expect(await alive.purgeInstance("10.0.2.1_885")).toBe(2);
    expect(await useRedis().hgetall(`${p}sess:u1`)).toEqual({ "10.0.2.1_875#c1": "10.0.2.1_875" });
    expect(await useRedis().exists(`${p}sess:u2`, `${p}inst:10.0.2.1_885`)).toBe(0);
  });

  test("a purge with a time marks each purged user as possibly missing messages since then; the earliest mark stays, its life extended", async () => {
    const p = freshPrefix();
    live.add("10.0.4.1_875").add("10.0.4.1_885").add("10.0.4.1_895");
    const alive = routesOf("10.0.4.1_875", p);
    await routesOf("10.0.4.1_885", p).add("u1", "c1");
    await routesOf("10.0.4.1_885", p).add("u1", "c2");
    await routesOf("10.0.4.1_895", p).add("u1", "c3");
    await routesOf("10.0.4.1_895", p).add("u2", "c4");
    live.delete("10.0.4.1_885");
    live.delete("10.0.4.1_895");
    expect(await alive.missedSince("u1")).toBeUndefined();
    expect(await alive.purgeInstance("10.0.4.1_885", 1_000)).toBe(2);
    expect(await alive.missedSince("u1")).toBe(1_000);
    expect(await alive.missedSince("u2")).toBeUndefined(); // not held by that instance
    await useRedis().pexpire(`${p}missed:u1`, 5_000);
    expect(await alive.purgeInstance("10.0.4.1_895", 2_000)).toBe(2);
    expect(await alive.missedSince("u1")).toBe(1_000); // the earlier gap is still to be replayed
    expect(await alive.missedSince("u2")).toBe(2_000);
    expect(await useRedis().pttl(`${p}missed:u1`)).toBeGreaterThan(MISSED_MARK_TTL_MS - 60_000);
    expect(await alive.purgeInstance("10.0.4.1_885")).toBe(0); // a purge without a time marks nothing
  });

  test("purgeInstance leaves an instance alone that is live again under the same id", async () => {
    const p = freshPrefix();
    live.add("10.0.3.1_875").add("10.0.3.1_885");
    const other = routesOf("10.0.3.1_875", p);
    await routesOf("10.0.3.1_885", p).add("u1", "c1");
    expect(await other.purgeInstance("10.0.3.1_885")).toBe(0);
    expect(await other.lookup(["u1"])).toEqual(["10.0.3.1_885"]);
  });

  test("rebuild makes this instance's entries exactly the given ones and leaves other instances alone", async () => {
    const p = freshPrefix();
    live.add("10.0.4.1_875").add("10.0.4.1_885");
    const self = routesOf("10.0.4.1_875", p);
    const other = routesOf("10.0.4.1_885", p);
    await self.add("gone", "c1");
    await self.add("kept", "c2");
    await other.add("gone", "c7");
    await useRedis().del(`${p}sess:kept`); // as if Redis lost part of the data
    await self.rebuild([["kept", "c2"], ["new", "c3"]]);
    expect(await self.lookup(["kept"])).toEqual(["10.0.4.1_875"]);
    expect(await self.lookup(["new"])).toEqual(["10.0.4.1_875"]);
    expect(await self.lookup(["gone"])).toEqual(["10.0.4.1_885"]);
    expect(await useRedis().hgetall(`${p}inst:10.0.4.1_875`)).toEqual({ c2: "kept", c3: "new" });
  });

  test("rebuild with no entries at start drops what a previous process with the same id left", async () => {
    const p = freshPrefix();
    live.add("10.0.5.1_875");
    await routesOf("10.0.5.1_875", p).add("u1", "old-conn");
    const restarted = routesOf("10.0.5.1_875", p);
    await restarted.rebuild([]);
    expect(await restarted.lookup(["u1"])).toEqual([]);
  });

  test("close removes this instance's entries but keeps the Redis client open", async () => {
    const p = freshPrefix();
    live.add("10.0.6.1_875");
    const routes = routesOf("10.0.6.1_875", p);
    await routes.add("u1", "c1");
    await routes.close();
    expect(await useRedis().exists(`${p}sess:u1`, `${p}inst:10.0.6.1_875`)).toBe(0);
    expect(await useRedis().ping()).toBe("PONG");
  });

  test("health is ok while Redis answers, and calls fail fast once the client has ended", async () => {
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const routes = createRedisSessionRoutes({ redis: client, instanceId: "10.0.7.1_875", isLive, log: silentLogger, keyPrefix: freshPrefix() });
    await client.ping();
    expect(await routes.health()).toBe("ok");
    client.disconnect();
    await Bun.sleep(20);
    expect(await routes.health()).toMatch(/^redis: /);
    await expect(routes.lookup(["u1"])).rejects.toBeInstanceOf(RedisUnavailableError);
  });
});
