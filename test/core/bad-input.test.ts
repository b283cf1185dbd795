// The chat core refuses bad input per frame: one user's bad message never costs another user theirs.
import { afterEach, expect, test } from "bun:test";
import type { StoredMsg } from "../../lib/core/ports.ts";
import { startCore, type Core } from "../support/core.ts";

let core: Core | undefined;
afterEach(async () => {
  await core?.close();
  core = undefined;
});

const words = (senderId: string, receiverId: string, msg: string, clientMsgId: string) => ({ chatMsg: { senderId, receiverId, msg, msgType: 1, clientMsgId } });

test("a row the store refuses costs only its sender: every other message of its batch is acked, stored and delivered", async () => {
  // Rows marked "poison" reach the real store with a value it refuses (msg_type NULL): the store
  // splits the batch and fails them alone.
  core = await startCore({
    wrapStore: (store) => ({ ...store, save: (m: StoredMsg) => store.save(m.msg?.startsWith("poison") ? { ...m, msgType: null as unknown as number } : m) }),
  });
  const c = core;
  const [alice, bob, mallory, carol] = await Promise.all(["alice", "bob", "mallory", "carol"].map((u) => c.connect(u)));
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 30; i++) {
    // One tick: the good and the poisoned messages share the store's batches.
    sends.push(c.send(alice, words("alice", "carol", `hello ${i}`, `a${i}`)));
    sends.push(c.send(bob, words("bob", "carol", `hi ${i}`, `b${i}`)));
    if (i % 3 === 0) sends.push(c.send(mallory, words("mallory", "carol", `poison ${i}`, `m${i}`)));
  }
  await Promise.all(sends);
  for (const [conn, prefix] of [[alice, "a"], [bob, "b"]] as const) {
    const acks = conn.sent.filter((f) => f.ack).map((f) => f.ack.clientMsgId);
    expect(acks).toEqual(Array.from({ length: 30 }, (_, i) => `${prefix}${i}`));
    expect(conn.sent.filter((f) => f.error)).toEqual([]);
  }
  const refusals = mallory.sent.filter((f) => f.error).map((f) => f.error);
  expect(refusals).toHaveLength(10);
  for (const e of refusals) {
    expect(e.code).toBe("BAD_FRAME");
    expect(e.message).toStartWith("the store cannot hold this message:");
    expect(e.clientMsgId).toMatch(/^m\d+$/);
  }
  expect(mallory.sent.filter((f) => f.ack)).toEqual([]);
  const delivered = carol.sent.filter((f) => f.chatMsg).map((f) => f.chatMsg.msg);
  expect(delivered).toHaveLength(60);
  expect(delivered.some((m: string) => m.startsWith("poison"))).toBe(false);
  expect((await c.store.history("alice", "carol", 1, 100)).records).toBe(30);
  expect((await c.store.history("mallory", "carol", 1, 100)).records).toBe(0);
});

test("a value the edge refuses never reaches the store and names the field and the clientMsgId", async () => {
  core = await startCore();
  const alice = await core.connect("alice");
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ msg: "poison\u0000N" }, "chatMsg.msg:"],
    [{ msgType: 4, msg: "cover", videoWidth: 2147483648 }, "chatMsg.videoWidth:"],
    [{ msgType: 4, msg: "cover", videoHeight: -2147483649 }, "chatMsg.videoHeight:"],
    [{ msgType: 4, msg: "cover", videoTimes: 1e308 }, "chatMsg.videoTimes:"],
    [{ msgType: 3, speakVoiceDuration: 9007199254740993 }, "chatMsg.speakVoiceDuration:"],
    [{ receiverId: "system" }, "chatMsg.receiverId:"],
    [{ receiverId: "*" }, "chatMsg.receiverId:"],
    [{ receiverId: "group:x" }, "chatMsg.receiverId:"],
  ];
  let i = 0;
  for (const [over, field] of cases) {
    await core.send(alice, { chatMsg: { senderId: "alice", receiverId: "bob", msg: "m", msgType: 1, clientMsgId: `c${++i}`, ...over } });
    const f = alice.sent.pop();
    expect(f.error).toMatchObject({ code: "BAD_FRAME", clientMsgId: `c${i}` });
    expect(f.error.message).toStartWith(field);
  }
  expect((await core.store.history("alice", "bob", 1, 10)).records).toBe(0);
});

test("a lone surrogate is delivered and stored as the same U+FFFD", async () => {
  core = await startCore();
  const [alice, bob] = [await core.connect("alice"), await core.connect("bob")];
  await core.send(alice, words("alice", "bob", "cut \ud83d", "s1"));
  expect(bob.sent.at(-1).chatMsg.msg).toBe("cut \ufffd");
  expect((await core.store.history("alice", "bob", 1, 1)).rows[0].msg).toBe("cut \ufffd");
});

test("a chat message to a group that does not exist is NOT_FOUND", async () => {
  core = await startCore();
  const alice = await core.connect("alice");
  await core.send(alice, { chatMsg: { senderId: "alice", receiverId: "group:42", msg: "m", msgType: 1, communicationType: 2, clientMsgId: "g" } });
  expect(alice.sent.at(-1).error).toMatchObject({ code: "NOT_FOUND", clientMsgId: "g" });
});

test("CONNECT_INIT naming another user on a bound connection is FORBIDDEN, not acked", async () => {
  core = await startCore();
  const alice = await core.connect("alice");
  await core.send(alice, { chatMsg: { senderId: "mallory", msgType: 0, clientMsgId: "x" } });
  expect(alice.sent.at(-1)).toEqual({ error: { code: "FORBIDDEN", message: expect.stringContaining("bound to alice"), clientMsgId: "x" } });
  await core.send(alice, { chatMsg: { senderId: "alice", msgType: 0, clientMsgId: "y" } });
  expect(alice.sent.at(-1)).toEqual({ ack: { clientMsgId: "y" } });
  expect(core.chat.sessions.onlineCounts).toBe(1);
});
