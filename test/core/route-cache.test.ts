// The route cache (lib/core/route-cache.ts): lookups it saves, and the catch-up that makes a stale
// entry cost no message. Several in-memory cores on fake time.
import { afterEach, describe, expect, test } from "bun:test";
import { CATCH_UP_SLACK_MS, FRESH_MS, createRouteCache, sentMsgIdOf } from "../../lib/core/route-cache.ts";
import { ROUTES_REBUILD_GRACE_MS } from "../../lib/core/membership.ts";
import { startMemoryCluster, type MemoryCluster } from "../support/memory-cluster.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

const TTL = 1000;
const words = (senderId: string, receiverId: string, msg: string, clientMsgId: string) => ({ chatMsg: { senderId, receiverId, msg, msgType: 1, clientMsgId } });
const texts = (conn: { sent: any[] }) => conn.sent.filter((f) => f.chatMsg?.msgType === 1).map((f) => f.chatMsg.msg);
const ackOf = (conn: { sent: any[] }, clientMsgId: string) => conn.sent.find((f) => f.ack?.clientMsgId === clientMsgId)?.ack;

describe("the cache", () => {
  test("answers from an entry younger than its lifetime, counted from when the lookup was sent; shares lookups in flight", async () => {
    let t = 0;
    const asked: string[][] = [];
    const cache = createRouteCache({ lookup: async (users) => (asked.push([...users]), ["i1"]), ttlMs: TTL, now: () => t });
    await Promise.all([cache.lookup(["bob"]), cache.lookup(["bob"])]);
    expect(asked).toEqual([["bob"]]);
    t = TTL - 1;
    expect(await cache.lookup(["bob", "alice"])).toEqual(["i1"]);
    expect(asked).toEqual([["bob"], ["alice"]]);
    t = TTL;
    await cache.lookup(["bob"]);
    expect(asked).toEqual([["bob"], ["alice"], ["bob"]]);
    cache.clear();
    await cache.lookup(["bob"]);
    expect(asked).toHaveLength(4);
  });

  test("drops expired entries as it goes, and never keeps a failed lookup", async () => {
    let t = 0;
    let fail = true;
    const cache = createRouteCache({ lookup: async () => (fail ? Promise.reject(new Error("down")) : []), ttlMs: TTL, now: () => t });
    await expect(cache.lookup(["bob"])).rejects.toThrow("down");
    expect(cache.size).toBe(0);
    fail = false;
    for (let i = 0; i < 100; i++) await cache.lookup([`u${i}`]);
    expect(cache.size).toBe(100);
    t = TTL;
    await cache.lookup(["someone"]);
    expect(cache.size).toBe(1);
  });

  test("knows the msgIds a connection was sent, not those of read receipts", () => {
    expect(sentMsgIdOf('{"chatMsg":{"receiverId":"b","msg":"\\"msgId\\":\\"1\\"","msgType":1,"msgId":"42"},"chatTime":"x"}')).toBe("42");
    expect(sentMsgIdOf('{"ack":{"clientMsgId":"c1","msgId":"43","chatTime":"x"}}')).toBe("43");
    expect(sentMsgIdOf('{"chatMsg":{"msgType":8,"msgId":"44","senderId":"b","receiverId":"a"},"chatTime":"x"}')).toBeUndefined();
    expect(sentMsgIdOf('{"chatMsg":{"msg":"no id","msgType":1}}')).toBeUndefined();
  });
});

describe("a stale entry and the catch-up", () => {
  async function staleScene() {
    c = await startMemoryCluster();
    const [a, b] = [await c.join(), await c.join()];
    const alice = await a.connect("alice");
    await a.send(alice, words("alice", "bob", "before bob came", "c1")); // caches "bob is nowhere"
    await c.advance(100);
    const bob = await b.connect("bob"); // routed on b: a's entry is now stale
    await c.advance(100);
    await a.send(alice, words("alice", "bob", "while a's entry was stale", "c2"));
    return { a, b, alice, bob };
  }

  test("a message routed with a stale entry is not missed: the receiver's new connection gets it from its catch-up", async () => {
    const { a, alice, bob } = await staleScene();
    expect(ackOf(alice, "c2")).toBeDefined(); // acked: it must reach bob
    expect(a.published.filter((p) => p.envelope.frame.includes("stale"))).toEqual([]); // the cache said nobody
    expect(texts(bob)).toEqual([]);

    await c.advance(TTL + CATCH_UP_SLACK_MS - 100); // the catch-up's time has come
    expect(texts(bob)).toEqual(["before bob came", "while a's entry was stale"]);
    expect(bob.sent.filter((f) => f.chatMsg).map((f) => f.chatMsg.msgId)).toEqual([ackOf(alice, "c1").msgId, ackOf(alice, "c2").msgId]);
  });

  test("the catch-up sends only what the connection did not get live, and runs once", async () => {
    const { a, alice, bob } = await staleScene();
    await c.advance(TTL); // a's entry expired: the next message is looked up and reaches bob live
    await a.send(alice, words("alice", "bob", "live", "c3"));
    expect(texts(bob)).toEqual(["live"]);
    await c.advance(CATCH_UP_SLACK_MS);
    expect(texts(bob)).toEqual(["live", "before bob came", "while a's entry was stale"]);
    await c.advance(10 * TTL);
    expect(texts(bob)).toHaveLength(3);
  });

  test("after a replay the catch-up sends neither what the client said it has nor what the replay sent", async () => {
    c = await startMemoryCluster();
    const [a, b] = [await c.join(), await c.join()];
    const alice = await a.connect("alice");
    await a.send(alice, words("alice", "bob", "had", "c1")); // caches "bob is nowhere"
    await a.send(alice, words("alice", "bob", "missed", "c2"));
    await c.advance(100);
    const bob = await b.connect();
    await b.send(bob, { chatMsg: { senderId: "bob", msgType: 0, msgId: ackOf(alice, "c1").msgId } });
    expect(texts(bob)).toEqual(["missed"]); // the replay
    await a.send(alice, words("alice", "bob", "while a's entry was stale", "c3"));
    await c.advance(TTL + CATCH_UP_SLACK_MS);
    expect(texts(bob)).toEqual(["missed", "while a's entry was stale"]);
  });

  test("a sender's other device on another instance gets the sender's own messages the same way", async () => {
    c = await startMemoryCluster();
    const [a, b] = [await c.join(), await c.join()];
    const phone = await a.connect("alice");
    await a.send(phone, words("alice", "bob", "one", "c1")); // caches: alice only here, bob nowhere
    const laptop = await b.connect("alice");
    await a.send(phone, words("alice", "bob", "two", "c2"));
    expect(texts(laptop)).toEqual([]);
    await c.advance(TTL + CATCH_UP_SLACK_MS);
    expect(texts(laptop)).toEqual(["one", "two"]);
  });

  test("an old message (a resend of one stored long ago) is never routed from the cache", async () => {
    c = await startMemoryCluster();
    const [a, b] = [await c.join(), await c.join()];
    const alice = await a.connect("alice");
    a.busDown = true;
    await a.send(alice, words("alice", "bob", "stored, not handed on", "c1"));
    a.busDown = false;
    await c.advance(5 * FRESH_MS);
    await a.send(alice, words("alice", "bob", "caches bob nowhere", "c2"));
    const bob = await b.connect("bob");
    await a.send(alice, words("alice", "bob", "stored, not handed on", "c1")); // its id is too old for any catch-up
    expect(texts(bob)).toEqual(["stored, not handed on"]);
  });

  test("while lookups are distrusted every message is broadcast, and the cache is emptied", async () => {
    c = await startMemoryCluster();
    const [a, b, gone] = [await c.join(), await c.join(), await c.join()];
    const alice = await a.connect("alice");
    await a.send(alice, words("alice", "bob", "caches bob nowhere", "c1"));
    c.leave(gone);
    const bob = await b.connect("bob");
    await a.send(alice, words("alice", "bob", "broadcast", "c2"));
    expect(texts(bob)).toEqual(["broadcast"]);
    expect(a.published.at(-1)?.targets).toBe("all");
    await c.advance(ROUTES_REBUILD_GRACE_MS);
    const bob2 = await b.connect("bob");
    await a.send(alice, words("alice", "bob", "looked up again", "c3"));
    expect(texts(bob2).slice(0, 1)).toEqual(["looked up again"]);
  });
});

test("a recall, edit or delete frame counts as sent under its event's id, not its target's", () => {
  expect(sentMsgIdOf('{"recall":{"eventId":"22","msgId":"11","senderId":"a","receiverId":"b","chatTime":"t"}}')).toBe("22");
  expect(sentMsgIdOf('{"seq":{"b":3},"edit":{"eventId":"23","msgId":"11","senderId":"a","receiverId":"b","chatTime":"t","msg":"x"}}')).toBe("23");
  expect(sentMsgIdOf('{"chatMsg":{"msg":"\\"recall\\":{\\"eventId\\":\\"9\\"","msgId":"12"}}')).toBe("12");
});
