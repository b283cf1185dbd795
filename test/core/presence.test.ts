// Presence on several cores over in-memory stand-ins and fake time: subscriptions, online/offline
// events across instances, the grace that keeps a reconnect from flapping, an instance that leaves.
import { afterEach, expect, test } from "bun:test";
import type { FakeConn } from "../support/core.ts";
import { startMemoryCluster, type Member, type MemoryCluster } from "../support/memory-cluster.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

const GRACE = 2500;
/** A connection of `userId` on `m` that declared `features`. */
async function login(m: Member, userId: string, features: string[] = ["presence", "typing"]): Promise<FakeConn> {
  const conn = await m.connect();
  await m.send(conn, { chatMsg: { senderId: userId, msgType: 0, clientMsgId: "init" }, features });
  return conn;
}
const presenceOf = (conn: FakeConn) => conn.sent.filter((f) => f.presence).map((f) => f.presence);
const subscribe = (m: Member, conn: FakeConn, ...userIds: string[]) => m.send(conn, { presence: { subscribe: userIds, clientMsgId: "s" } });

test("CONNECT_INIT's ack lists the known features declared; unknown names are ignored", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const conn = await login(a, "alice", ["typing", "video-calls", "presence"]);
  expect(conn.sent[0].ack).toEqual({ clientMsgId: "init", features: ["presence", "typing"] });
});

test("a subscription gets the current state at once, then online and offline events from other instances", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const watcher = await login(a, "alice");
  await subscribe(a, watcher, "bob");
  expect(presenceOf(watcher)).toEqual([{ userId: "bob", online: false, lastSeen: null }]);
  expect(watcher.sent.at(-1).ack).toEqual({ clientMsgId: "s" });

  const bob = await login(b, "bob", []);
  await b.chat.idle();
  expect(presenceOf(watcher).at(-1)).toEqual({ userId: "bob", online: true, lastSeen: null });

  const leftAt = c.clock.now;
  bob.close(1000, "bye");
  await c.advance(GRACE - 1);
  expect(presenceOf(watcher)).toHaveLength(2); // still within the grace: not offline yet
  await c.advance(1);
  expect(presenceOf(watcher).at(-1)).toEqual({ userId: "bob", online: false, lastSeen: leftAt });
  const http = await a.chat.presenceOf(["bob", "nobody"]);
  expect(http).toEqual([{ userId: "bob", online: false, lastSeen: leftAt }, { userId: "nobody", online: false, lastSeen: null }]);
});

test("a reconnect within the grace, on another instance, announces nothing: no offline, no second online", async () => {
  c = await startMemoryCluster();
  const [a, b, x] = [await c.join(), await c.join(), await c.join()];
  const watcher = await login(a, "alice");
  await subscribe(a, watcher, "bob");
  const bob = await login(b, "bob");
  await b.chat.idle();
  expect(presenceOf(watcher)).toHaveLength(2);
  bob.close(1000, "network change");
  await c.advance(1000);
  await login(x, "bob");
  await c.advance(GRACE * 2);
  expect(presenceOf(watcher)).toHaveLength(2);
  expect((await a.chat.presenceOf(["bob"]))[0].online).toBe(true);
});

test("a user with devices on two instances goes offline once, when the last one is gone", async () => {
  c = await startMemoryCluster();
  const [a, b, x] = [await c.join(), await c.join(), await c.join()];
  const w1 = await login(a, "alice");
  const w2 = await login(x, "carol");
  await subscribe(a, w1, "bob");
  await subscribe(x, w2, "bob");
  const phone = await login(b, "bob");
  const laptop = await login(x, "bob");
  await c.advance(0);
  phone.close(1000, "");
  await c.advance(GRACE);
  expect(presenceOf(w1).map((p) => p.online)).toEqual([false, true]);
  laptop.close(1000, "");
  await c.advance(GRACE);
  expect(presenceOf(w1).map((p) => p.online)).toEqual([false, true, false]);
  expect(presenceOf(w2).map((p) => p.online)).toEqual([false, true, false]);
});

test("users of an instance that left are announced offline once its routes are purged, once though two instances purge", async () => {
  c = await startMemoryCluster();
  const [a, b, dying] = [await c.join(), await c.join(), await c.join()];
  const w1 = await login(a, "alice");
  const w2 = await login(b, "carol");
  await subscribe(a, w1, "bob", "dave");
  await subscribe(b, w2, "bob");
  await login(dying, "bob");
  await login(dying, "dave");
  await login(a, "dave"); // dave has another device, on a live instance
  await c.advance(0);
  c.leave(dying); // killed: its connections never close; a and b both purge it
  await a.membership.idle();
  await b.membership.idle();
  await c.advance(0);
  expect(presenceOf(w1).filter((p) => p.userId === "bob").map((p) => p.online)).toEqual([false, true, false]);
  expect(presenceOf(w2).map((p) => p.online)).toEqual([false, true, false]);
  expect(presenceOf(w1).filter((p) => p.userId === "dave").map((p) => p.online)).toEqual([false, true]);
});

test("nothing is published for presence while nobody watches a user", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const bob = await login(b, "bob");
  await c.advance(0);
  bob.close(1000, "");
  await c.advance(GRACE);
  expect([...a.published, ...b.published]).toEqual([]);
  expect((await a.chat.presenceOf(["bob"]))[0].online).toBe(false);
});

test("watching more users than the bound is LIMIT_EXCEEDED and changes nothing; unsubscribing makes room", async () => {
  c = await startMemoryCluster();
  const a = await c.join({ presenceSubscriptionsMax: 3 });
  const w = await login(a, "alice");
  await subscribe(a, w, "u1", "u2");
  await a.send(w, { presence: { subscribe: ["u3", "u4"], clientMsgId: "too-many" } });
  expect(w.sent.at(-1).error).toMatchObject({ code: "LIMIT_EXCEEDED", clientMsgId: "too-many" });
  expect(w.sent.at(-1).error.message).toContain("at most 3");
  expect(presenceOf(w).map((p) => p.userId)).toEqual(["u1", "u2"]);
  await a.send(w, { presence: { unsubscribe: ["u1"], subscribe: ["u3", "u4"], clientMsgId: "ok" } });
  expect(w.sent.at(-1).ack).toEqual({ clientMsgId: "ok" });
  expect(presenceOf(w).map((p) => p.userId)).toEqual(["u1", "u2", "u3", "u4"]);
});

test("presence frames need CONNECT_INIT and the declared feature; malformed ones are BAD_FRAME naming the field", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const fresh = await a.connect();
  await subscribe(a, fresh, "bob");
  expect(fresh.sent.at(-1).error.code).toBe("NOT_INITIALIZED");
  const seed = await a.connect("alice"); // no features: a seed client
  await subscribe(a, seed, "bob");
  expect(seed.sent.at(-1).error).toMatchObject({ code: "BAD_FRAME" });
  expect(seed.sent.at(-1).error.message).toContain('declare "presence"');
  const w = await login(a, "carol");
  for (const bad of [{ presence: { subscribe: "bob" } }, { presence: { subscribe: ["group:1"] } }, { presence: { subscribe: ["a b"] } }, { presence: 1 }]) {
    await a.send(w, bad);
    expect(w.sent.at(-1).error.code).toBe("BAD_FRAME");
  }
  expect(w.sent.at(-2).error.message).toContain("presence.subscribe");
});

test("a seed-style connection (no features) watching nothing gets no presence frame while others do", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const seed = await a.connect("alice");
  const w = await login(a, "carol");
  await subscribe(a, w, "bob");
  const bob = await login(b, "bob");
  await c.advance(0);
  bob.close(1000, "");
  await c.advance(GRACE);
  expect(presenceOf(w)).toHaveLength(3);
  expect(seed.sent.filter((f) => !f.chatMsg && !f.ack)).toEqual([]);
});
