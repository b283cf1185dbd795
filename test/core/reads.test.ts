// Read state in groups on several cores over in-memory stand-ins: positions that only move forward,
// the unread per member recounted from them, one receipt per read to the senders' declared
// connections (never a seed client's), who read a message, and clear refusals of bad input.
import { afterEach, expect, test } from "bun:test";
import type { FakeConn } from "../support/core.ts";
import { startMemoryCluster, type Member, type MemoryCluster } from "../support/memory-cluster.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

async function login(m: Member, userId: string, features: string[] = ["reads"]): Promise<FakeConn> {
  const conn = await m.connect();
  await m.send(conn, { chatMsg: { senderId: userId, msgType: 0 }, features });
  return conn;
}
/** Sends a group message from `conn`; resolves to its msgId. */
async function say(m: Member, conn: FakeConn, senderId: string, groupId: string, msg: string): Promise<string> {
  c.clock.now += 1; // ids of different instances in one millisecond do not follow the order sent
  await m.send(conn, { chatMsg: { senderId, receiverId: groupId, msg, msgType: 1, communicationType: 2, clientMsgId: `say-${msg}` } });
  const ack = conn.sent.at(-1).ack;
  if (!ack?.msgId) throw new Error(`not acked: ${JSON.stringify(conn.sent.at(-1))}`);
  return ack.msgId;
}
const readsOf = (conn: FakeConn) => conn.sent.filter((f) => f.read).map((f) => f.read);

/** Two instances; group:7 of alice, bob and carol; alice and carol each said something. */
async function setUp() {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  await c.groups.create({ groupId: "group:7", name: "seven", ownerId: "alice" }, ["bob", "carol"]);
  const alice = await login(a, "alice");
  const aliceSeed = await a.connect("alice"); // a seed client of alice's: declares nothing
  const bob = await login(b, "bob");
  const bobOther = await login(a, "bob");
  const carol = await login(b, "carol");
  const m1 = await say(a, alice, "alice", "group:7", "one");
  const m2 = await say(b, carol, "carol", "group:7", "two");
  const m3 = await say(a, alice, "alice", "group:7", "three");
  return { a, b, alice, aliceSeed, bob, bobOther, carol, m1, m2, m3 };
}

test("a member's read moves its position, recounts its unread, and one receipt reaches the senders' declared connections on any instance", async () => {
  const { a, b, alice, aliceSeed, bob, bobOther, carol, m2 } = await setUp();
  expect((await c.unread.get("bob"))["group:7"]).toBe(3);
  const seedBefore = aliceSeed.sent.length;
  await b.send(bob, { read: { receiverId: "group:7", msgId: m2, clientMsgId: "r1" } });
  expect(bob.sent.at(-1).ack).toEqual({ clientMsgId: "r1", msgId: m2, unread: 1 });
  expect((await c.unread.get("bob"))["group:7"]).toBe(1);
  // alice (m1) and carol (m2) sent messages bob passed: one frame each, whatever the count.
  expect(readsOf(alice)).toEqual([{ receiverId: "group:7", readerId: "bob", msgId: m2 }]);
  expect(readsOf(carol)).toEqual([{ receiverId: "group:7", readerId: "bob", msgId: m2 }]);
  expect(readsOf(bobOther)).toEqual([{ receiverId: "group:7", readerId: "bob", msgId: m2 }]); // bob's other device
  expect(readsOf(bob)).toEqual([]); // not back to the reading connection
  expect(aliceSeed.sent.length).toBe(seedBefore); // a seed client gets nothing new
  expect((await c.store.history("alice", "group:7", 1, 20)).rows.every((m) => !m.isRead)).toBe(true); // the seed's isRead untouched
  expect(a.published.concat(b.published).filter((p) => p.envelope.feature === "reads")).toHaveLength(1);
});

test("a position never moves back: a lower msgId leaves it, its unread and the receivers alone", async () => {
  const { a, b, alice, bob, m1, m2, m3 } = await setUp();
  await b.send(bob, { read: { receiverId: "group:7", msgId: m3, clientMsgId: "r1" } });
  expect(bob.sent.at(-1).ack).toEqual({ clientMsgId: "r1", msgId: m3, unread: 0 });
  await b.send(bob, { read: { receiverId: "group:7", msgId: m1, clientMsgId: "r2" } });
  expect(bob.sent.at(-1).ack).toEqual({ clientMsgId: "r2", msgId: m3, unread: 0 });
  expect(readsOf(alice)).toHaveLength(1);
  expect((await c.reads.positions("group:7")).get("bob")).toBe(m3);
  // A message after the position counts unread again, and a read of it moves on.
  const m4 = await say(a, alice, "alice", "group:7", "four");
  expect((await c.unread.get("bob"))["group:7"]).toBe(1);
  expect((await b.chat.markGroupRead("bob", "group:7", m4))).toEqual({ msgId: m4, unread: 0 });
  expect(readsOf(alice).map((r) => r.msgId)).toEqual([m3, m4]);
  void m2;
});

test("who read a message and each member's state answer from the positions and counters", async () => {
  const { a, b, bob, carol, m1, m2, m3 } = await setUp();
  await b.send(bob, { read: { receiverId: "group:7", msgId: m2 } });
  expect(await a.chat.whoRead("alice", "group:7", m1)).toEqual({ groupId: "group:7", msgId: m1, senderId: "alice", readBy: ["bob"], unreadBy: ["carol"] });
  expect(await a.chat.whoRead("carol", "group:7", m3)).toEqual({ groupId: "group:7", msgId: m3, senderId: "alice", readBy: [], unreadBy: ["bob", "carol"] });
  await b.send(carol, { read: { receiverId: "group:7", msgId: m3 } });
  expect((await a.chat.whoRead("bob", "group:7", m3)).readBy).toEqual(["carol"]);
  expect(await a.chat.readState("alice", "group:7", 1, 50)).toEqual({
    groupId: "group:7", page: 1, total: 1, records: 3,
    rows: [
      { userId: "alice", msgId: null, unread: 1 }, // carol's m2
      { userId: "bob", msgId: m2, unread: 1 },
      { userId: "carol", msgId: m3, unread: 0 },
    ],
  });
  expect((await a.chat.readState("alice", "group:7", 2, 2)).rows.map((r) => r.userId)).toEqual(["carol"]);
});

test("bad input gets a clear refusal and changes nothing", async () => {
  const { a, b, bob, m1 } = await setUp();
  const mallory = await login(b, "mallory");
  await c.groups.create({ groupId: "group:8", name: "eight", ownerId: "mallory" }, []);
  const other = await say(b, mallory, "mallory", "group:8", "elsewhere");
  const cases: Array<[object, string, string]> = [
    [{ read: { receiverId: "group:7", msgId: m1, clientMsgId: "x1" } }, "FORBIDDEN", "not a member of group:7"],
    [{ read: { receiverId: "group:9", msgId: m1, clientMsgId: "x2" } }, "NOT_FOUND", "no group group:9"],
  ];
  for (const [frame, code, message] of cases) {
    await b.send(mallory, frame);
    expect(mallory.sent.at(-1).error).toMatchObject({ code, clientMsgId: (frame as any).read.clientMsgId });
    expect(mallory.sent.at(-1).error.message).toContain(message);
  }
  const bobCases: Array<[object, string, string]> = [
    [{ read: { receiverId: "group:7", msgId: other, clientMsgId: "y1" } }, "NOT_FOUND", `no message ${other} in group:7`],
    [{ read: { receiverId: "group:7", msgId: "999", clientMsgId: "y2" } }, "NOT_FOUND", "no message 999"],
    [{ read: { receiverId: "group:7", msgId: "12ab", clientMsgId: "y3" } }, "BAD_FRAME", "read.msgId"],
    [{ read: { receiverId: "group:7", msgId: 5, clientMsgId: "y4" } }, "BAD_FRAME", "read.msgId"],
    [{ read: { receiverId: "bob", msgId: m1, clientMsgId: "y5" } }, "BAD_FRAME", "read.receiverId"],
    [{ read: { receiverId: "group:x", msgId: m1, clientMsgId: "y6" } }, "BAD_FRAME", "read.receiverId"],
    [{ read: { msgId: m1, clientMsgId: "y7" } }, "BAD_FRAME", "read.receiverId"],
  ];
  for (const [frame, code, message] of bobCases) {
    await b.send(bob, frame);
    expect(bob.sent.at(-1).error).toMatchObject({ code, clientMsgId: (frame as any).read.clientMsgId });
    expect(bob.sent.at(-1).error.message).toContain(message);
  }
  expect((await c.reads.positions("group:7")).size).toBe(0);
  // Without the declared feature, or before CONNECT_INIT.
  const seed = await a.connect("bob");
  await a.send(seed, { read: { receiverId: "group:7", msgId: m1 } });
  expect(seed.sent.at(-1).error.message).toContain('declare "reads"');
  const fresh = await a.connect();
  await a.send(fresh, { read: { receiverId: "group:7", msgId: m1 } });
  expect(fresh.sent.at(-1).error.code).toBe("NOT_INITIALIZED");
  // The HTTP side of the core: the same refusals.
  await expect(a.chat.whoRead("mallory", "group:7", m1)).rejects.toMatchObject({ code: "FORBIDDEN" });
  await expect(a.chat.readState("mallory", "group:7", 1, 50)).rejects.toMatchObject({ code: "FORBIDDEN" });
  await expect(a.chat.whoRead("bob", "group:7", "nope")).rejects.toMatchObject({ code: "BAD_FRAME" });
  await expect(a.chat.markGroupRead("bob", "group:x", m1)).rejects.toMatchObject({ code: "BAD_FRAME" });
  await expect(a.chat.markGroupRead("bob", "group:7", undefined)).rejects.toMatchObject({ code: "BAD_FRAME" });
  expect(bob.closed).toBeUndefined();
});
