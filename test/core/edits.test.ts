// Recall, edit and delete-for-me on cores over in-memory stand-ins and fake time: stored as event
// rows and applied to their target, live only to connections that declared "edit", replayed as
// feature frames to those and as the target's result to seed clients, refused with clear errors.
import { afterEach, expect, test } from "bun:test";
import type { FakeConn } from "../support/core.ts";
import { startMemoryCluster, type Member, type MemoryCluster } from "../support/memory-cluster.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

async function login(m: Member, userId: string, opts: { features?: string[]; msgId?: string } = {}): Promise<FakeConn> {
  const conn = await m.connect();
  await m.send(conn, { chatMsg: { senderId: userId, msgType: 0, msgId: opts.msgId }, features: opts.features ?? ["edit"] });
  return conn;
}
/** Sends a text and resolves to its msgId (from the ack). */
async function say(m: Member, conn: FakeConn, receiverId: string, msg: string, extra: object = {}): Promise<string> {
  const clientMsgId = `say-${Math.random()}`;
  await m.send(conn, { chatMsg: { receiverId, msg, msgType: 1, clientMsgId, ...extra } });
  const ack = conn.sent.find((f) => f.ack?.clientMsgId === clientMsgId);
  if (!ack) throw new Error(`no ack: ${JSON.stringify(conn.sent.at(-1))}`);
  return ack.ack.msgId;
}
const eventsOf = (conn: FakeConn) => conn.sent.filter((f) => f.recall || f.edit || f.delete);
const replyTo = (conn: FakeConn, clientMsgId: string) => conn.sent.find((f) => f.ack?.clientMsgId === clientMsgId || f.error?.clientMsgId === clientMsgId);
const errorOf = (conn: FakeConn, clientMsgId: string) => replyTo(conn, clientMsgId)?.error;

async function pair() {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice = await login(a, "alice");
  const aliceOther = await login(b, "alice");
  const bob = await login(b, "bob");
  const bobOther = await login(a, "bob");
  const bobSeed = await b.connect("bob"); // no features: a seed client
  return { a, b, alice, aliceOther, bob, bobOther, bobSeed };
}

test("a recall reaches both parties' declared connections on any instance, never a seed client's; history shows the message emptied and recalled", async () => {
  const { a, alice, aliceOther, bob, bobSeed } = await pair();
  const msgId = await say(a, alice, "bob", "oops");
  const seedBefore = bobSeed.sent.length;
  await a.send(alice, { recall: { msgId, clientMsgId: "r1" } });
  const ack = replyTo(alice, "r1").ack;
  expect(ack.clientMsgId).toBe("r1");
  expect(ack.msgId).not.toBe(msgId); // the event row's id
  const event = { eventId: ack.msgId, msgId, senderId: "alice", receiverId: "bob", chatTime: ack.chatTime };
  expect(eventsOf(bob)).toEqual([{ recall: event }]);
  expect(eventsOf(aliceOther)).toEqual([{ recall: event }]);
  expect(eventsOf(alice)).toEqual([]); // the requesting connection has its ack
  expect(bobSeed.sent.length).toBe(seedBefore);
  // Between instances as a feature frame: never what seed instances read.
  expect(a.published.filter((p) => p.envelope.frame.startsWith('{"recall"')).map((p) => p.envelope.feature)).toEqual(["edit"]);
  const { rows, records } = await c.store.history("bob", "alice", 1, 20);
  expect(records).toBe(1); // the event row is not history
  expect(rows).toMatchObject([{ msgId, msg: "", recalled: true, msgType: 1 }]);
});

test("an edit replaces the text for everyone, marked edited; the later of two edits stays; a recalled message cannot be edited", async () => {
  const { a, alice, bob, bobSeed } = await pair();
  const msgId = await say(a, alice, "bob", "helo");
  await a.send(alice, { edit: { msgId, msg: "hello", clientMsgId: "e1" } });
  await a.send(alice, { edit: { msgId, msg: "hello!", clientMsgId: "e2" } });
  expect(eventsOf(bob).map((f) => f.edit.msg)).toEqual(["hello", "hello!"]);
  expect(eventsOf(bob)[0].edit).toMatchObject({ msgId, senderId: "alice", receiverId: "bob", eventId: replyTo(alice, "e1").ack.msgId });
  expect(eventsOf(bobSeed)).toEqual([]);
  expect((await c.store.history("alice", "bob", 1, 20)).rows).toMatchObject([{ msgId, msg: "hello!", edited: true }]);
  // Applied out of order (two devices racing): the later event's text stays.
  const [older] = [replyTo(alice, "e1").ack.msgId];
  await c.store.applyEdit({ msgId, eventId: older, msg: "hello" });
  expect((await c.store.get(msgId))!.msg).toBe("hello!");
  await a.send(alice, { recall: { msgId, clientMsgId: "r" } });
  await a.send(alice, { edit: { msgId, msg: "again", clientMsgId: "e3" } });
  expect(errorOf(alice, "e3")).toEqual({ code: "FORBIDDEN", message: `message ${msgId} was recalled: it can no longer be edited`, clientMsgId: "e3" });
  await c.store.applyEdit({ msgId, eventId: "999999999999999999", msg: "late edit" }); // an edit landing after the recall
  expect(await c.store.get(msgId)).toMatchObject({ msg: "", recalled: true });
});

test("past EDIT_WINDOW_MS the sender may neither recall nor edit, and the error names the window", async () => {
  const { a, alice, bob } = await pair();
  const msgId = await say(a, alice, "bob", "now");
  c.clock.now += 120_000;
  await a.send(alice, { edit: { msgId, msg: "just in time", clientMsgId: "e1" } });
  expect(replyTo(alice, "e1").ack).toBeDefined();
  c.clock.now += 1000;
  await a.send(alice, { recall: { msgId, clientMsgId: "r1" } });
  await a.send(alice, { edit: { msgId, msg: "too late", clientMsgId: "e2" } });
  expect(errorOf(alice, "r1")).toEqual({
    code: "FORBIDDEN", clientMsgId: "r1",
    message: `a message can be recalled only within 2 minutes (EDIT_WINDOW_MS=120000) of being sent; ${msgId} was sent 121 seconds ago`,
  });
  expect(errorOf(alice, "e2").message).toStartWith("a message can be edited only within 2 minutes (EDIT_WINDOW_MS=120000)");
  expect(eventsOf(bob).map((f) => Object.keys(f)[0])).toEqual(["edit"]);
  // Deleting for oneself has no window.
  await a.send(alice, { delete: { msgId, clientMsgId: "d1" } });
  expect(replyTo(alice, "d1").ack).toBeDefined();
});

test("the window is the instance's option", async () => {
  c = await startMemoryCluster();
  const a = await c.join({ editWindowMs: 5000 });
  const alice = await login(a, "alice");
  const msgId = await say(a, alice, "bob", "x");
  c.clock.now += 5001;
  await a.send(alice, { recall: { msgId, clientMsgId: "r" } });
  expect(errorOf(alice, "r").message).toContain("within 5 seconds (EDIT_WINDOW_MS=5000)");
});

test("bad requests get clear errors naming their clientMsgId, and nothing is stored or sent", async () => {
  c = await startMemoryCluster();
  const a = await c.join({ maxMsgChars: 20 });
  const alice = await login(a, "alice");
  const bob = await login(a, "bob");
  const seed = await a.connect("carol");
  const text = await say(a, alice, "bob", "hi");
  const image = await say(a, alice, "bob", "http://x/1.png", { msgType: 2 });
  await a.send(alice, { recall: { msgId: text, clientMsgId: "ev" } });
  const eventId = replyTo(alice, "ev").ack.msgId;
  const before = eventsOf(bob).length;
  const cases: Array<[FakeConn, object, string, string]> = [
    [alice, { recall: { msgId: "123456789", clientMsgId: "c1" } }, "NOT_FOUND", "no message 123456789"],
    [bob, { recall: { msgId: image, clientMsgId: "c2" } }, "FORBIDDEN", "only the sender of a message may recall it"],
    [bob, { edit: { msgId: image, msg: "x", clientMsgId: "c3" } }, "FORBIDDEN", "only the sender of a message may edit it"],
    [alice, { recall: { msgId: eventId, clientMsgId: "c4" } }, "BAD_FRAME", `msgId: ${eventId} is a recall, edit or delete event, not a message`],
    [alice, { delete: { msgId: eventId, clientMsgId: "c5" } }, "BAD_FRAME", `msgId: ${eventId} is a recall, edit or delete event, not a message`],
    [alice, { edit: { msgId: image, msg: "", clientMsgId: "c6" } }, "BAD_FRAME", "edit.msg: the new text must not be empty (recall the message instead)"],
    [alice, { edit: { msgId: image, msg: "x".repeat(21), clientMsgId: "c7" } }, "BAD_FRAME", "edit.msg: at most 20 characters"],
    [alice, { edit: { msgId: image, msg: "caption", clientMsgId: "c8" } }, "BAD_FRAME", `message ${image} is not a text message (msgType 1): only text can be edited`],
    [alice, { recall: { msgId: "12a", clientMsgId: "c9" } }, "BAD_FRAME", "recall.msgId: must be a decimal message id"],
    [alice, { edit: { msgId: image, clientMsgId: "c10" } }, "BAD_FRAME", "edit.msg"],
    [seed, { recall: { msgId: image, clientMsgId: "c11" } }, "BAD_FRAME", `declare "edit" in CONNECT_INIT's "features" to use recall frames`],
    [seed, { delete: { msgId: image, clientMsgId: "c12" } }, "BAD_FRAME", `declare "edit" in CONNECT_INIT's "features" to use delete frames`],
  ];
  for (const [conn, frame, code, message] of cases) {
    await a.send(conn, frame);
    const cid = (Object.values(frame)[0] as { clientMsgId: string }).clientMsgId;
    const error = errorOf(conn, cid);
    expect({ cid, code: error?.code }).toEqual({ cid, code });
    expect(error.message).toContain(message);
  }
  const fresh = await a.connect();
  await a.send(fresh, { recall: { msgId: text, clientMsgId: "c13" } });
  expect(errorOf(fresh, "c13").code).toBe("NOT_INITIALIZED");
  expect(eventsOf(bob).length).toBe(before);
  expect(await c.store.get(image)).toMatchObject({ msg: "http://x/1.png" });
  expect((await c.store.after("alice", text, 100)).filter((m) => m.msgType >= 100).map((m) => m.msgId)).toEqual([eventId]); // the one recall asked for
});

test("a resend with the same clientMsgId is acked with the first event and stored once; a clientMsgId of another message is refused", async () => {
  const { a, alice, bob } = await pair();
  const msgId = await say(a, alice, "bob", "x");
  await a.send(alice, { edit: { msgId, msg: "y", clientMsgId: "same" } });
  await a.send(alice, { edit: { msgId, msg: "y", clientMsgId: "same" } });
  const acks = alice.sent.filter((f) => f.ack?.clientMsgId === "same").map((f) => f.ack.msgId);
  expect(acks).toHaveLength(2);
  expect(acks[1]).toBe(acks[0]);
  expect((await c.store.after("alice", msgId, 100)).map((m) => m.msgType)).toEqual([101]);
  expect(eventsOf(bob).map((f) => f.edit.eventId)).toEqual([acks[0], acks[0]]); // handed on again: dropped by eventId
  const chatCid = alice.sent.find((f) => f.ack?.msgId === msgId).ack.clientMsgId;
  await a.send(alice, { recall: { msgId, clientMsgId: chatCid } });
  expect(alice.sent.at(-1).error?.message ?? "").toContain(`clientMsgId: "${chatCid}" already names another message of yours`);
});

test("a delete is for the user only: its own other connections are told, the peer is not, and its history and conversations leave the message out", async () => {
  const { a, b, alice, aliceOther, bob, bobOther, bobSeed } = await pair();
  const first = await say(a, alice, "bob", "first");
  const second = await say(b, bob, "alice", "second");
  await b.send(bob, { delete: { msgId: second, clientMsgId: "d" } });
  expect(eventsOf(bobOther)).toEqual([{ delete: { eventId: replyTo(bob, "d").ack.msgId, msgId: second, userId: "bob", chatTime: replyTo(bob, "d").ack.chatTime } }]);
  expect(eventsOf(alice)).toEqual([]);
  expect(eventsOf(aliceOther)).toEqual([]);
  expect(eventsOf(bobSeed)).toEqual([]);
  expect((await c.store.history("bob", "alice", 1, 20)).rows.map((m) => m.msg)).toEqual(["first"]);
  expect((await c.store.history("alice", "bob", 1, 20)).rows.map((m) => m.msg)).toEqual(["first", "second"]);
  // The conversation's newest row is the event: its newest shown message takes its place.
  expect((await c.store.conversations("bob", [], 1, 20)).rows.map((r) => [r.conversationId, r.last.msgId])).toEqual([["alice", first]]);
  expect((await c.store.conversations("alice", [], 1, 20)).rows.map((r) => r.last.msgId)).toEqual([second]);
  // A message of others' conversation: refused.
  const mallory = await login(a, "mallory");
  await a.send(mallory, { delete: { msgId: first, clientMsgId: "m" } });
  expect(errorOf(mallory, "m")).toEqual({ code: "FORBIDDEN", message: `message ${first} is not in one of your conversations`, clientMsgId: "m" });
});

test("replay: a declared connection gets the message as it now is and the events; a seed client the result only; a deleted message neither", async () => {
  const { a, b, alice, bob } = await pair();
  const from = await say(a, alice, "bob", "before");
  const recalled = await say(a, alice, "bob", "secret");
  const edited = await say(a, alice, "bob", "typo");
  const deleted = await say(a, alice, "bob", "spam");
  await a.send(alice, { recall: { msgId: recalled, clientMsgId: "r" } });
  await a.send(alice, { edit: { msgId: edited, msg: "fixed", clientMsgId: "e" } });
  await b.send(bob, { delete: { msgId: deleted, clientMsgId: "d" } });
  const b2 = await c.join();
  const declared = await login(b2, "bob", { msgId: from });
  const seed = await login(b2, "bob", { msgId: from, features: [] });
  const shape = (f: any) => (f.chatMsg ? [f.chatMsg.msgId, f.chatMsg.msg, f.chatMsg.recalled ?? f.chatMsg.edited ?? false] : Object.keys(f)[0]);
  const replayed = (conn: FakeConn) => conn.sent.filter((f) => !f.ack).map(shape);
  expect(replayed(declared)).toEqual([[recalled, "", true], [edited, "fixed", true], "recall", "edit", "delete"]);
  expect(replayed(seed)).toEqual([[recalled, "", true], [edited, "fixed", true]]);
  // The sender's replay: its own delete-for-me rows are not its peer's business, its recall is its own.
  const aliceBack = await login(b2, "alice", { msgId: from });
  expect(replayed(aliceBack)).toEqual([[recalled, "", true], [edited, "fixed", true], [deleted, "spam", false], "recall", "edit"]);
});

test("in a group, a recall goes to every member's declared connections and the group's history shows it recalled", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  await c.groups.create({ groupId: "group:9", name: "g", ownerId: "alice" }, ["alice", "bob", "carol"]);
  const alice = await login(a, "alice");
  const bob = await login(b, "bob");
  const carol = await login(a, "carol");
  const carolSeed = await b.connect("carol");
  const dave = await login(b, "dave");
  const msgId = await say(a, alice, "group:9", "to all", { communicationType: 2 });
  await a.send(alice, { recall: { msgId, clientMsgId: "r" } });
  for (const conn of [bob, carol]) expect(eventsOf(conn).map((f) => f.recall.receiverId)).toEqual(["group:9"]);
  expect(eventsOf(carolSeed)).toEqual([]);
  expect(eventsOf(dave)).toEqual([]);
  expect((await c.store.history("bob", "group:9", 1, 20)).rows).toMatchObject([{ msgId, msg: "", recalled: true }]);
  // A member deletes it for itself; the others still see it.
  await b.send(bob, { delete: { msgId, clientMsgId: "d" } });
  expect((await c.store.history("bob", "group:9", 1, 20)).records).toBe(0);
  expect((await c.store.history("carol", "group:9", 1, 20)).records).toBe(1);
  await b.send(dave, { delete: { msgId, clientMsgId: "d2" } });
  expect(errorOf(dave, "d2").code).toBe("FORBIDDEN");
});

test("the route cache's catch-up sends a recall a new connection missed live to a declared connection only, with the message as it now is", async () => {
  c = await startMemoryCluster();
  const [a, b, d] = [await c.join(), await c.join(), await c.join()];
  const alice = await login(a, "alice");
  await login(b, "bob");
  const msgId = await say(a, alice, "bob", "cached"); // a caches bob's route: instance b only
  const late = await login(d, "bob");
  const lateSeed = await login(d, "bob", { features: [] });
  await a.send(alice, { recall: { msgId, clientMsgId: "r" } });
  expect(eventsOf(late)).toEqual([]); // routed by the stale entry: not to d
  await c.advance(1500); // the catch-up of the new connections
  expect(late.sent.filter((f) => !f.ack).map((f) => (f.chatMsg ? [f.chatMsg.msgId, f.chatMsg.recalled] : Object.keys(f)[0]))).toEqual([[msgId, true], "recall"]);
  expect(lateSeed.sent.filter((f) => !f.ack).map((f) => [f.chatMsg.msgId, f.chatMsg.msg])).toEqual([[msgId, ""]]);
});

test("the CONNECT_INIT ack of a connection that declared \"edit\" names the window; others' do not", async () => {
  c = await startMemoryCluster();
  const a = await c.join({ editWindowMs: 90_000 });
  const conn = await a.connect();
  await a.send(conn, { chatMsg: { senderId: "alice", msgType: 0, clientMsgId: "i" }, features: ["edit", "typing"] });
  expect(conn.sent.at(-1).ack).toEqual({ clientMsgId: "i", features: ["typing", "edit"], editWindowMs: 90_000 });
  const other = await a.connect();
  await a.send(other, { chatMsg: { senderId: "bob", msgType: 0, clientMsgId: "i" }, features: ["typing"] });
  expect(other.sent.at(-1).ack).toEqual({ clientMsgId: "i", features: ["typing"] });
});

test("a recall uncounts an unread message once, for its receiver unless signed read; the hooks hear of each change once", async () => {
  const { a, b, alice, bob } = await pair();
  const m1 = await say(a, alice, "bob", "one");
  const m2 = await say(a, alice, "bob", "two");
  const m3 = await say(a, alice, "bob", "three");
  expect((await c.unread.get("bob")).alice).toBe(3);
  await a.send(alice, { recall: { msgId: m2, clientMsgId: "r2" } });
  expect((await c.unread.get("bob")).alice).toBe(2);
  await a.send(alice, { recall: { msgId: m2, clientMsgId: "r2" } }); // a resend
  await a.send(alice, { recall: { msgId: m2, clientMsgId: "r2-again" } }); // a second recall
  expect(replyTo(alice, "r2-again").ack).toBeDefined();
  expect((await c.unread.get("bob")).alice).toBe(2);
  // bob signed m1 read: it was counted out when bob read, so its recall uncounts nothing.
  await b.send(bob, { chatMsg: { msgType: 8, msgId: m1, clientMsgId: "s1" } });
  await a.send(alice, { recall: { msgId: m1, clientMsgId: "r1" } });
  expect((await c.unread.get("bob")).alice).toBe(2);
  await a.send(alice, { edit: { msgId: m3, msg: "three!", clientMsgId: "e3" } });
  expect((await c.unread.get("bob")).alice).toBe(2); // an edit is no new message
  // Never below 0 (bob cleared the counter without signing).
  await c.unread.clear("bob", "alice");
  await a.send(alice, { recall: { msgId: m3, clientMsgId: "r3" } });
  expect((await c.unread.get("bob")).alice).toBe(0);
  await a.send(alice, { delete: { msgId: m1, clientMsgId: "d1" } });
  const id = (clientMsgId: string) => replyTo(alice, clientMsgId).ack.msgId;
  expect(c.hooked.filter(([kind]) => kind !== "stored")).toEqual([
    ["recall", m2, id("r2")], ["recall", m1, id("r1")], ["edit", m3, id("e3")], ["recall", m3, id("r3")], ["delete", m1, id("d1")],
  ]);
});

test("in a group a recall uncounts the message for the members whose read position is before it; a read's recount leaves recalled messages and events out", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  await c.groups.create({ groupId: "group:5", name: "five", ownerId: "alice" }, ["bob", "carol"]);
  const alice = await login(a, "alice", { features: ["edit", "reads"] });
  const bob = await login(b, "bob", { features: ["edit", "reads"] });
  const carol = await login(b, "carol", { features: ["edit", "reads"] });
  const inGroup = async (msg: string) => {
    c.clock.now += 1;
    return say(a, alice, "group:5", msg, { communicationType: 2 });
  };
  const g1 = await inGroup("one");
  const g2 = await inGroup("two");
  const g3 = await inGroup("three");
  await b.send(carol, { read: { receiverId: "group:5", msgId: g2, clientMsgId: "cr" } }); // carol read up to g2
  expect((await c.unread.get("carol"))["group:5"]).toBe(1);
  expect((await c.unread.get("bob"))["group:5"]).toBe(3);
  c.clock.now += 1;
  await a.send(alice, { recall: { msgId: g2, clientMsgId: "r" } });
  expect((await c.unread.get("bob"))["group:5"]).toBe(2); // bob had not read it
  expect((await c.unread.get("carol"))["group:5"]).toBe(1); // carol had
  expect((await c.unread.get("alice"))["group:5"] ?? 0).toBe(0); // its sender never counted it
  c.clock.now += 1;
  await a.send(alice, { edit: { msgId: g3, msg: "three!", clientMsgId: "e" } });
  // bob reads up to g1: the recount finds g3 only (not the recalled g2, not the recall or edit events).
  await b.send(bob, { read: { receiverId: "group:5", msgId: g1, clientMsgId: "br" } });
  expect(bob.sent.find((f) => f.ack?.clientMsgId === "br").ack.unread).toBe(1);
  expect((await c.unread.get("bob"))["group:5"]).toBe(1);
});
