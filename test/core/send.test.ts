// The send pipeline (lib/core/send.ts) and read receipts (lib/core/receipts.ts) on in-memory
// stand-ins: store → count → route → ack, and what each failure costs.
import { afterEach, expect, test } from "bun:test";
import type { MessageStore } from "../../lib/core/ports.ts";
import { startMemoryCluster, type MemoryCluster } from "../support/memory-cluster.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

const words = (senderId: string, receiverId: string, msg: string, clientMsgId: string) => ({ chatMsg: { senderId, receiverId, msg, msgType: 1, clientMsgId } });
const got = (conn: { sent: any[] }, type = 1) => conn.sent.filter((f) => f.chatMsg?.msgType === type).map((f) => f.chatMsg);
const lastOf = (conn: { sent: any[] }) => conn.sent.at(-1);

test("the ack names the stored message and follows its delivery to every device of both users but the sending one", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice1 = await a.connect("alice");
  const alice2 = await b.connect("alice");
  const bob = await b.connect("bob");
  await a.send(alice1, words("alice", "bob", "hello", "c1"));
  const { ack } = lastOf(alice1);
  expect(ack.clientMsgId).toBe("c1");
  expect(ack.msgId).toMatch(/^\d+$/);
  expect((await c.store.get(ack.msgId))?.msg).toBe("hello");
  expect(got(bob).map((m) => m.msgId)).toEqual([ack.msgId]);
  expect(got(alice2).map((m) => m.msgId)).toEqual([ack.msgId]);
  expect(got(alice1)).toEqual([]);
});

test("a message stored but not handed on (the bus failed) is handed on with each resend, always under its first msgId", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice = await a.connect("alice");
  const bob = await b.connect("bob");
  a.busDown = true;
  await a.send(alice, words("alice", "bob", "once", "c1"));
  expect(lastOf(alice).error).toMatchObject({ code: "UNAVAILABLE", clientMsgId: "c1" });
  expect(got(bob)).toEqual([]);
  const stored = (await c.store.history("alice", "bob", 1, 10)).rows;
  expect(stored.map((m) => m.msg)).toEqual(["once"]);

  a.busDown = false;
  await a.send(alice, words("alice", "bob", "once", "c1")); // the client resends with the same clientMsgId
  expect(lastOf(alice).ack).toMatchObject({ clientMsgId: "c1", msgId: stored[0].msgId });
  expect(got(bob).map((m) => m.msgId)).toEqual([stored[0].msgId]);

  // Once more (its ack was lost, say): handed on again, under the same msgId — never a new one —
  // so a receiver that already has it drops it; the store still holds one message.
  await a.send(alice, words("alice", "bob", "once", "c1"));
  expect(lastOf(alice).ack.msgId).toBe(stored[0].msgId);
  expect(got(bob).map((m) => m.msgId)).toEqual([stored[0].msgId, stored[0].msgId]);
  expect((await c.store.history("alice", "bob", 1, 10)).records).toBe(1);
});

test("an instance that dies between store and publish: the resend on another instance delivers the stored message", async () => {
  c = await startMemoryCluster();
  const [a, b, r] = [await c.join(), await c.join(), await c.join()];
  const bob = await r.connect("bob");
  const first = await a.connect("alice");
  // The store commits, then the instance dies before its publish reaches the broker.
  a.busDown = true;
  await a.send(first, words("alice", "bob", "lost with a", "c9"));
  const [stored] = (await c.store.history("alice", "bob", 1, 10)).rows;
  expect(got(bob)).toEqual([]);
  c.leave(a);

  // The client, never acked, reconnects elsewhere and resends with the same clientMsgId.
  const again = await b.connect("alice");
  await b.send(again, words("alice", "bob", "lost with a", "c9"));
  expect(lastOf(again).ack).toMatchObject({ clientMsgId: "c9", msgId: stored.msgId });
  expect(got(bob)).toMatchObject([{ msgId: stored.msgId, msg: "lost with a", senderId: "alice" }]);
  expect((await c.store.history("alice", "bob", 1, 10)).records).toBe(1);
});

test("standalone, a resend of a delivered message is acked with its msgId and not handed on again", async () => {
  c = await startMemoryCluster();
  const a = await c.join({ redeliverResends: false });
  const alice = await a.connect("alice");
  const bob = await a.connect("bob");
  await a.send(alice, words("alice", "bob", "hi", "c1"));
  await a.send(alice, words("alice", "bob", "hi", "c1"));
  const acks = alice.sent.filter((f) => f.ack).map((f) => f.ack.msgId);
  expect(acks).toHaveLength(2);
  expect(acks[1]).toBe(acks[0]);
  expect(got(bob).map((m) => m.msgId)).toEqual([acks[0]]);
});

test("with the bus's backlog full a message is refused before it is stored", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const alice = await a.connect("alice");
  a.busFull = true;
  await a.send(alice, words("alice", "bob", "not now", "c1"));
  expect(lastOf(alice).error).toMatchObject({ code: "UNAVAILABLE", clientMsgId: "c1" });
  expect((await c.store.history("alice", "bob", 1, 10)).records).toBe(0);
});

test("a store that is down gets UNAVAILABLE and nothing is delivered", async () => {
  let down = false;
  c = await startMemoryCluster({ wrapStore: (s: MessageStore) => ({ ...s, save: (m) => (down ? Promise.reject(new Error("connection refused")) : s.save(m)) }) });
  const [a, b] = [await c.join(), await c.join()];
  const alice = await a.connect("alice");
  const bob = await b.connect("bob");
  down = true;
  await a.send(alice, words("alice", "bob", "lost?", "c1"));
  expect(lastOf(alice).error).toMatchObject({ code: "UNAVAILABLE", message: "the message was not stored: resend it later", clientMsgId: "c1" });
  expect(got(bob)).toEqual([]);
  expect(a.published).toEqual([]);
});

test("a group message goes to every member on any instance, from members only", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  await c.groups.create({ groupId: "group:7", name: "seven", ownerId: "ann" }, ["ben", "cat"]);
  const ann = await a.connect("ann");
  const ben = await b.connect("ben");
  const cat = await a.connect("cat");
  const eve = await b.connect("eve");
  await a.send(ann, { chatMsg: { senderId: "ann", receiverId: "group:7", msg: "hi all", msgType: 1, communicationType: 2, clientMsgId: "g1" } });
  expect(lastOf(ann).ack).toBeDefined();
  expect(got(ben).map((m) => m.msg)).toEqual(["hi all"]);
  expect(got(cat).map((m) => m.msg)).toEqual(["hi all"]);
  expect(got(eve)).toEqual([]);
  expect(a.published.at(-1)!.envelope.audience).toEqual({ kind: "members", userIds: ["ann", "ben", "cat"] });
  await b.send(eve, { chatMsg: { senderId: "eve", receiverId: "group:7", msg: "let me in", msgType: 1, clientMsgId: "g2" } });
  expect(lastOf(eve).error).toMatchObject({ code: "FORBIDDEN", clientMsgId: "g2" });
});

test("one rule signs a message read, over WebSocket and over HTTP: the receiver, or a group member, and the sender is told", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  await c.groups.create({ groupId: "group:8", name: "eight", ownerId: "ann" }, ["ben"]);
  const ann = await a.connect("ann");
  const ben = await b.connect("ben");
  await a.send(ann, words("ann", "ben", "1:1", "p"));
  const pairId = lastOf(ann).ack.msgId;
  await a.send(ann, { chatMsg: { senderId: "ann", receiverId: "group:8", msg: "group", msgType: 1, clientMsgId: "g" } });
  const groupId = lastOf(ann).ack.msgId;

  await b.send(ben, { chatMsg: { msgType: 8, msgId: pairId, clientMsgId: "s1" } }); // WebSocket SIGNED
  expect(lastOf(ben).ack).toEqual({ clientMsgId: "s1", msgId: pairId });
  await b.chat.sign(groupId, "ben"); // HTTP signRead with ben's token
  expect(got(ann, 8).map((m) => [m.msgId, m.senderId, m.receiverId])).toEqual([[pairId, "ben", "ann"], [groupId, "ben", "ann"]]);
  expect((await c.store.get(pairId))?.isRead).toBe(true);
  expect((await c.store.get(groupId))?.isRead).toBe(true);

  await expect(a.chat.sign(pairId, "ann")).rejects.toMatchObject({ code: "FORBIDDEN" }); // the sender may not
  await expect(a.chat.sign(groupId, "ann")).rejects.toMatchObject({ code: "FORBIDDEN" });
  await expect(a.chat.sign("42", "ben")).rejects.toMatchObject({ code: "NOT_FOUND" });
});
