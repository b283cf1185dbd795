// Typing notes on several cores over in-memory stand-ins and fake time: relayed only to connections
// that declared "typing", never stored or counted, rate-limited per connection.
import { afterEach, expect, test } from "bun:test";
import type { FakeConn } from "../support/core.ts";
import { startMemoryCluster, type Member, type MemoryCluster } from "../support/memory-cluster.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

async function login(m: Member, userId: string, features: string[] = ["typing"]): Promise<FakeConn> {
  const conn = await m.connect();
  await m.send(conn, { chatMsg: { senderId: userId, msgType: 0 }, features });
  return conn;
}
const typingOf = (conn: FakeConn) => conn.sent.filter((f) => f.typing).map((f) => f.typing);

test("a typing note reaches the peer's declared connections on any instance, not a seed client's, and is not stored", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice = await login(a, "alice");
  const aliceOther = await login(b, "alice");
  const bobNew = await login(b, "bob");
  const bobSeed = await b.connect("bob"); // a seed client of bob's: no features
  await a.send(alice, { typing: { receiverId: "bob", clientMsgId: "t1" } });
  expect(alice.sent.at(-1).ack).toEqual({ clientMsgId: "t1" });
  expect(typingOf(bobNew)).toEqual([{ senderId: "alice", receiverId: "bob" }]);
  expect(bobSeed.sent).toEqual([]);
  expect(typingOf(aliceOther)).toEqual([]); // the sender's own devices are not told
  await a.send(alice, { typing: { receiverId: "bob", stop: true } });
  expect(typingOf(bobNew).at(-1)).toEqual({ senderId: "alice", receiverId: "bob", stop: true });
  expect((await c.store.history("alice", "bob", 1, 20)).records).toBe(0);
});

test("typing frames past the rate get RATE_LIMITED; the bucket refills with time", async () => {
  c = await startMemoryCluster();
  const a = await c.join({ typingRatePerConn: 2 });
  const alice = await login(a, "alice");
  const bob = await login(a, "bob");
  for (let i = 0; i < 6; i++) await a.send(alice, { typing: { receiverId: "bob", clientMsgId: `t${i}` } });
  const replies = alice.sent.filter((f) => f.ack?.clientMsgId?.startsWith("t") || f.error);
  expect(replies.map((f) => (f.ack ? "ack" : f.error.code))).toEqual(["ack", "ack", "ack", "ack", "RATE_LIMITED", "RATE_LIMITED"]);
  expect(replies.at(-1).error.message).toContain("at most 2 typing frames a second");
  expect(typingOf(bob)).toHaveLength(4);
  c.clock.now += 500; // one token back
  await a.send(alice, { typing: { receiverId: "bob" } });
  await a.send(alice, { typing: { receiverId: "bob" } });
  expect(typingOf(bob)).toHaveLength(5);
  expect(alice.sent.at(-1).error.code).toBe("RATE_LIMITED");
});

test("in a group, typing goes to the other members' declared connections; a non-member is FORBIDDEN, an unknown group NOT_FOUND", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  await c.groups.create({ groupId: "group:7", name: "g", ownerId: "alice" }, ["alice", "bob", "carol"]);
  const alice = await login(a, "alice");
  const bob = await login(b, "bob");
  const carol = await login(a, "carol");
  const mallory = await login(b, "mallory");
  await a.send(alice, { typing: { receiverId: "group:7" } });
  expect(typingOf(bob)).toEqual([{ senderId: "alice", receiverId: "group:7" }]);
  expect(typingOf(carol)).toEqual([{ senderId: "alice", receiverId: "group:7" }]);
  expect(typingOf(alice)).toEqual([]);
  await b.send(mallory, { typing: { receiverId: "group:7" } });
  expect(mallory.sent.at(-1).error.code).toBe("FORBIDDEN");
  await b.send(mallory, { typing: { receiverId: "group:8" } });
  expect(mallory.sent.at(-1).error.code).toBe("NOT_FOUND");
  expect(typingOf(bob)).toHaveLength(1);
});

test("typing needs the declared feature; to oneself or with a bad receiver it is BAD_FRAME", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const seed = await a.connect("alice");
  await a.send(seed, { typing: { receiverId: "bob" } });
  expect(seed.sent.at(-1).error).toMatchObject({ code: "BAD_FRAME" });
  expect(seed.sent.at(-1).error.message).toContain('declare "typing"');
  const alice = await login(a, "alice");
  await a.send(alice, { typing: { receiverId: "alice" } });
  expect(alice.sent.at(-1).error.code).toBe("BAD_FRAME");
  for (const bad of [{ typing: {} }, { typing: { receiverId: 5 } }, { typing: { receiverId: "group:x" } }, { typing: { receiverId: "bob", stop: "yes" } }]) {
    await a.send(alice, bad);
    expect(alice.sent.at(-1).error.code).toBe("BAD_FRAME");
  }
});
