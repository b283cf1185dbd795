// Replay by position (feature "seq"): every stored message has the next position in its receiver's
// timeline and its sender's; a client that replays after the highest position it holds with none
// missing gets everything it lacks, whatever the instances' clocks and the order frames came in.
import { afterEach, expect, test } from "bun:test";
import { startMemoryCluster, type MemoryCluster } from "../support/memory-cluster.ts";
import type { FakeConn } from "../support/core.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

const words = (senderId: string, receiverId: string, msg: string, clientMsgId: string, communicationType = 1) => ({
  chatMsg: { senderId, receiverId, msg, msgType: 1, clientMsgId, communicationType },
});
const chats = (conn: FakeConn) => conn.sent.filter((f) => f.chatMsg?.msgType === 1);
const ackOf = (conn: FakeConn, clientMsgId: string) => conn.sent.find((f) => f.ack?.clientMsgId === clientMsgId)?.ack;
const errorsOf = (conn: FakeConn) => conn.sent.filter((f) => f.error).map((f) => f.error);

/** A connection of `userId` on `m` that declared "seq", with the CONNECT_INIT's extra fields. */
async function seqConn(m: { connect(u?: string): Promise<FakeConn>; send(conn: FakeConn, f: object): Promise<void> }, userId: string, extra: object = {}) {
  const conn = await m.connect();
  await m.send(conn, { chatMsg: { senderId: userId, msgType: 0, clientMsgId: "init" }, features: ["seq"], ...extra });
  return conn;
}

test("frames carry the message's positions beside chatMsg to connections that declared seq, never to a seed connection", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const bob = await seqConn(b, "bob");
  const bobSeed = await b.connect("bob");
  const aliceOther = await seqConn(b, "alice");
  expect(ackOf(bob, "init").seqs).toEqual({ bob: 0, "*": 0 });
  const alice = await a.connect("alice");
  await a.send(alice, words("alice", "bob", "one", "c1"));
  await a.send(alice, words("alice", "bob", "two", "c2"));
  expect(chats(bob).map((f) => [f.chatMsg.msg, f.seq])).toEqual([["one", { bob: 1, alice: 1 }], ["two", { bob: 2, alice: 2 }]]);
  expect(chats(aliceOther).map((f) => f.seq)).toEqual([{ bob: 1, alice: 1 }, { bob: 2, alice: 2 }]);
  expect(chats(bobSeed).map((f) => Object.keys(f).sort())).toEqual([["chatMsg", "chatTime", "extend"], ["chatMsg", "chatTime", "extend"]]);
  expect(chats(bobSeed).every((f) => !("seq" in f.chatMsg))).toBe(true);
  // A seed-style sender's ack names the message as before; a sender with "seq" is told the positions too.
  expect(Object.keys(ackOf(alice, "c2")).sort()).toEqual(["chatTime", "clientMsgId", "msgId"]);
  await b.send(aliceOther, words("alice", "bob", "three", "c3"));
  expect(ackOf(aliceOther, "c3").seq).toEqual({ bob: 3, alice: 3 });
});

test("a clock 15 s ahead on one instance: the replay after the highest msgId seen skips a message, the replay after the position does not", async () => {
  c = await startMemoryCluster();
  const ahead = await c.join({}, { clockAheadMs: 15_000 });
  const b = await c.join();
  const bob = await seqConn(b, "bob");
  const aliceAhead = await ahead.connect("alice");
  const aliceHere = await b.connect("alice");
  await ahead.send(aliceAhead, words("alice", "bob", "from the fast clock", "f1"));
  const [first] = chats(bob);
  expect(first.seq.bob).toBe(1);
  await b.chat.close(bob);
  await b.send(aliceHere, words("alice", "bob", "stored later, older id", "s1"));
  const later = ackOf(aliceHere, "s1").msgId;
  expect(BigInt(later) < BigInt(first.chatMsg.msgId)).toBe(true);

  // The old rule: replay after the newest msgId the device saw misses it.
  const byId = await seqConn(b, "bob", { chatMsg: { senderId: "bob", msgType: 0, clientMsgId: "init", msgId: first.chatMsg.msgId } });
  expect(chats(byId).map((f) => f.chatMsg.msgId)).not.toContain(later);
  // After the position the device holds with none missing below: it is there.
  const bySeq = await seqConn(b, "bob", { seqs: { bob: 1 } });
  expect(chats(bySeq).map((f) => [f.chatMsg.msgId, f.seq.bob])).toEqual([[later, 2]]);
  expect(ackOf(bySeq, "init")).toMatchObject({ replayed: 1, recovered: true, seqs: { bob: 2, "*": 0 } });
});

test("groups and broadcasts are timelines of their own; a member's own group messages come once", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  await c.groups.create({ groupId: "group:1", name: "g", ownerId: "alice" }, ["alice", "bob"]);
  const alice = await a.connect("alice");
  const bob = await a.connect("bob");
  for (let i = 1; i <= 3; i++) await a.send(alice, words("alice", "group:1", `g${i}`, `g${i}`, 2));
  await a.send(bob, words("bob", "group:1", "from bob", "b1", 2));
  await a.chat.broadcast("maintenance at noon");
  // alice holds group:1 up to 1 and her own timeline up to 3: she lacks g2 and g3 only in the group's timeline,
  // bob's message (group 4) and the broadcast.
  const again = await seqConn(a, "alice", { seqs: { alice: 3, "group:1": 1, "*": 0 } });
  const replayed = chats(again).map((f) => [f.chatMsg.msg, f.seq]);
  expect(replayed.map(([msg]) => msg)).toEqual(["g2", "g3", "from bob", "maintenance at noon"]);
  expect(replayed[0][1]).toEqual({ "group:1": 2, alice: 2 });
  expect(replayed[2][1]).toEqual({ "group:1": 4, bob: 1 });
  expect(replayed[3][1]).toEqual({ "*": 1 });
  expect(ackOf(again, "init").seqs).toEqual({ alice: 3, "group:1": 4, "*": 1 });
});

test("a replay cut at REPLAY_MAX says recovered:false, and the next one from the highest contiguous position gets the rest", async () => {
  c = await startMemoryCluster();
  const a = await c.join({ replayMax: 3 });
  const alice = await a.connect("alice");
  for (let i = 1; i <= 5; i++) await a.send(alice, words("alice", "bob", `m${i}`, `m${i}`));
  const first = await seqConn(a, "bob", { seqs: { bob: 0 } });
  expect(chats(first).map((f) => f.seq.bob)).toEqual([1, 2, 3]);
  expect(ackOf(first, "init")).toMatchObject({ replayed: 3, recovered: false, seqs: { bob: 5 } });
  const second = await seqConn(a, "bob", { seqs: { bob: 3 } });
  expect(chats(second).map((f) => f.chatMsg.msg)).toEqual(["m4", "m5"]);
  expect(ackOf(second, "init")).toMatchObject({ replayed: 2, recovered: true });
});

test("a resend is handed on with its first message's positions, and takes none of its own", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const alice = await a.connect("alice");
  const bob = await seqConn(a, "bob");
  await a.send(alice, words("alice", "bob", "once", "r1"));
  await a.send(alice, words("alice", "bob", "once", "r1"));
  await a.send(alice, words("alice", "bob", "next", "r2"));
  expect(chats(bob).map((f) => [f.chatMsg.msg, f.seq.bob])).toEqual([["once", 1], ["once", 1], ["next", 2]]);
});

test("bad positions get BAD_FRAME naming the field, and the connection stays usable", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  for (const seqs of [{ "no spaces": 1 }, { bob: -1 }, { bob: 1.5 }, { bob: "3" }, [1, 2]]) {
    const conn = await a.connect();
    await a.send(conn, { chatMsg: { senderId: "bob", msgType: 0, clientMsgId: "init" }, features: ["seq"], seqs });
    const [error] = errorsOf(conn);
    expect(error).toMatchObject({ code: "BAD_FRAME", clientMsgId: "init" });
    expect(error.message).toContain("seqs");
    expect(conn.closed).toBeUndefined();
    await a.send(conn, { chatMsg: { senderId: "bob", msgType: 0, clientMsgId: "again" }, features: ["seq"], seqs: { bob: 0 } });
    expect(ackOf(conn, "again")).toMatchObject({ replayed: 0, recovered: true });
  }
});

test("the catch-up after a stale route entry reads from positions: an instance 15 s ahead still gets what the entry routed nowhere", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const ahead = await c.join({}, { clockAheadMs: 15_000 });
  const alice = await a.connect("alice");
  await a.send(alice, words("alice", "bob", "before bob came", "c1")); // caches "bob is nowhere"
  await c.advance(100);
  const bob = await seqConn(ahead, "bob", { seqs: { bob: 1 } }); // routed on the fast instance: a's entry is stale
  await c.advance(100);
  await a.send(alice, words("alice", "bob", "while a's entry was stale", "c2"));
  expect(chats(bob)).toEqual([]);
  await c.advance(5000); // past the entry's lifetime and the catch-up's slack
  // By the fast clock, "created since 2 s before the route write" began 13 s after this message's id.
  expect(chats(bob).map((f) => [f.chatMsg.msg, f.seq.bob])).toEqual([["while a's entry was stale", 2]]);
});

test("a recall has positions too: with edit its frame carries them; a connection with seq but not edit gets them alone, live and in replay; the ack gives the recaller its own", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const alice = await seqConn(a, "alice", { features: ["seq", "edit"] });
  const bobEdit = await seqConn(a, "bob", { features: ["seq", "edit"] });
  const bobPlain = await seqConn(a, "bob");
  const bobSeed = await a.connect("bob");
  await a.send(alice, words("alice", "bob", "oops", "m1"));
  const msgId = ackOf(alice, "m1").msgId;
  await a.send(alice, { recall: { msgId, clientMsgId: "r1" } });
  expect(ackOf(alice, "r1").seq).toEqual({ bob: 2, alice: 2 });
  expect(bobEdit.sent.filter((f) => f.recall).map((f) => [f.recall.msgId, f.seq])).toEqual([[msgId, { bob: 2, alice: 2 }]]);
  // Positions only: no gap at 2 for a connection that does not know recall frames.
  expect(bobPlain.sent.filter((f) => f.seq && !f.chatMsg && !f.ack)).toEqual([{ seq: { bob: 2, alice: 2 } }]);
  expect(bobSeed.sent.filter((f) => f.seq || f.recall)).toEqual([]);
  // The same in a replay after position 0: the message (as it now is: recalled) and then the event's place.
  const again = await seqConn(a, "bob", { seqs: { bob: 0 } });
  expect(again.sent.filter((f) => f.seq && !f.ack).map((f) => (f.chatMsg ? ["message", f.seq.bob] : ["place", f.seq.bob]))).toEqual([["message", 1], ["place", 2]]);
});
