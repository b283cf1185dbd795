// The behavioural suite of issue 15's first part (capabilities, presence, typing, the conversation
// list), run against any target: standalone in-process, or a real cluster (users spread over it).
import { describe, expect, test } from "bun:test";
import { http, suiteTarget, type Target } from "./target.ts";
import { eventually } from "./wait.ts";
import { TestClient, type Frame } from "./ws-client.ts";

/** The environment the suite's targets run with: short grace, small bounds, so limits are reachable. */
export const FEATURE_ENV = {
  PRESENCE_GRACE_MS: "800",
  PRESENCE_SUBSCRIPTIONS_MAX: "5",
  PRESENCE_QUERY_MAX: "10",
  TYPING_RATE_PER_CONN: "2",
};
const GRACE_MS = Number(FEATURE_ENV.PRESENCE_GRACE_MS);

/** POSTs a JSON body (or GETs) and returns `{status, body}`. */
export async function json(url: string, body?: unknown, method = body === undefined ? "GET" : "POST"): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const isNew = (f: Frame) => f.presence !== undefined || f.typing !== undefined;

/** Helpers handed to a target's own tests (`more`), registered after the shared ones. */
export interface FeatureHelpers<T extends Target> {
  target(): T;
  user(tag: string): string;
  /** A connection on instance `i` that declared presence and typing. */
  declared(i: number, userId: string): Promise<TestClient>;
  login(i: number, userId: string): Promise<TestClient>;
}

export function describeFeatures<T extends Target>(name: string, makeTarget: () => Promise<T>, more?: (h: FeatureHelpers<T>) => void) {
  describe(name, () => {
    const s = suiteTarget(makeTarget);
    const { clients, user, at } = s;
    /** A connection of `userId` on instance `i` that declares no feature, as a seed client. */
    const login = async (i: number, userId: string) => {
      const c = await TestClient.login(at(i), userId);
      clients.push(c);
      return c;
    };
    const loginWith = async (i: number, userId: string, features: string[]) => {
      const c = await TestClient.open(at(i));
      clients.push(c);
      c.send({ chatMsg: { senderId: userId, msgType: 0, clientMsgId: "init" }, features });
      const ack = await c.next((f) => f.ack?.clientMsgId === "init");
      return { c, ack: ack.ack };
    };
    const declared = async (i: number, userId: string) => (await loginWith(i, userId, ["presence", "typing"])).c;
    const presenceFrom = (c: TestClient, userId: string, online: boolean) =>
      c.next((f) => f.presence?.userId === userId && f.presence.online === online, 8000 + GRACE_MS);
    const api = (path: string, i = 0) => `${s.t.httpUrl(i % s.t.size)}${path}`;


    test("CONNECT_INIT's ack names the declared features it knows; a seed client's ack has none", async () => {
      const { ack } = await loginWith(0, user("a"), ["typing", "presence", "something-else"]);
      expect(ack).toEqual({ clientMsgId: "init", features: ["presence", "typing"] });
      const seed = await login(1, user("s"));
      const cid = "again";
      seed.send({ chatMsg: { msgType: 0, clientMsgId: cid } });
      expect((await seed.next((f) => f.ack?.clientMsgId === cid)).ack).toEqual({ clientMsgId: cid });
    });

    test("a watcher gets the current state, then online, then offline once the grace has passed, with last seen", async () => {
      const [a, b] = [user("a"), user("b")];
      const watcher = await declared(0, a);
      watcher.send({ presence: { subscribe: [b], clientMsgId: "sub" } });
      expect((await watcher.next((f) => f.presence)).presence).toEqual({ userId: b, online: false, lastSeen: null });
      await watcher.next((f) => f.ack?.clientMsgId === "sub");
      const bob = await login(1, b);
      await presenceFrom(watcher, b, true);
      const before = Date.now();
      bob.close();
      const off = await presenceFrom(watcher, b, false);
      expect(Date.now() - before).toBeGreaterThanOrEqual(GRACE_MS - 50);
      expect(off.presence.lastSeen).toBeGreaterThanOrEqual(before - 1000);
      expect(off.presence.lastSeen).toBeLessThanOrEqual(Date.now());
      const q = await json(api(`/chat/presence?userIds=${b},${a}`, 2));
      expect(q.body.data).toEqual([{ userId: b, online: false, lastSeen: off.presence.lastSeen }, { userId: a, online: true, lastSeen: null }]);
    }, 20_000);

    test("a reconnect within the grace, on another instance, is neither offline nor a second online", async () => {
      const [a, b] = [user("a"), user("b")];
      const watcher = await declared(0, a);
      watcher.send({ presence: { subscribe: [b] } });
      await watcher.next((f) => f.presence);
      const bob = await login(1, b);
      await presenceFrom(watcher, b, true);
      bob.close();
      await Bun.sleep(GRACE_MS / 4);
      await login(2, b);
      await watcher.expectNothing(GRACE_MS * 2, (f) => f.presence);
      expect((await json(api(`/chat/presence?userIds=${b}`))).body.data[0].online).toBe(true);
    }, 20_000);

    test("the presence query answers GET and POST for many users, and refuses past its bound or a bad id with 400", async () => {
      const ids = Array.from({ length: 10 }, (_, i) => user(`q${i}`));
      await login(1, ids[3]);
      const post = await json(api("/chat/presence"), { userIds: ids });
      expect(post.status).toBe(200);
      expect(post.body.data.map((p: any) => p.online)).toEqual(ids.map((_, i) => i === 3));
      const tooMany = await json(api("/chat/presence"), { userIds: [...ids, user("x")] });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.msg).toContain("at most 10 per query");
      expect((await json(api(`/chat/presence?userIds=${[...ids, user("x")].join(",")}`))).status).toBe(400);
      for (const q of ["", "?userIds=", "?userIds=group:1", "?userIds=a%20b"]) {
        const r = await json(api(`/chat/presence${q}`));
        expect(r.status).toBe(400);
        expect(r.body.success).toBe(false);
      }
      expect((await json(api("/chat/presence"), { userIds: "a" })).status).toBe(400);
    });

    test("watching more users than PRESENCE_SUBSCRIPTIONS_MAX is LIMIT_EXCEEDED; the connection keeps working", async () => {
      const a = user("a");
      const c = await declared(0, a);
      c.send({ presence: { subscribe: [1, 2, 3, 4].map((i) => user(`w${i}`)), clientMsgId: "four" } });
      await c.next((f) => f.ack?.clientMsgId === "four");
      c.send({ presence: { subscribe: [user("w5"), user("w6")], clientMsgId: "six" } });
      const err = (await c.next((f) => f.error)).error;
      expect(err).toMatchObject({ code: "LIMIT_EXCEEDED", clientMsgId: "six" });
      expect(err.message).toContain("at most 5");
      const b = user("b");
      const other = await login(1, b);
      await c.say(a, b, "still fine");
      await other.nextMessage();
    });

    test("typing reaches the peer's declared devices on any instance, within its rate; it is neither stored nor counted", async () => {
      const [a, b] = [user("a"), user("b")];
      const alice = await declared(0, a);
      const bobNew = await declared(1, b);
      const bobSeed = await login(2, b);
      for (let i = 0; i < 6; i++) alice.send({ typing: { receiverId: b, clientMsgId: `t${i}` } });
      // Refusals go out at once, acks once the note was handed on: ordered by clientMsgId.
      const replies: Frame[] = [];
      for (let i = 0; i < 6; i++) replies.push(await alice.next((f) => f.ack?.clientMsgId?.startsWith("t") || f.error));
      const byId = (f: Frame) => (f.ack ?? f.error).clientMsgId as string;
      replies.sort((x, y) => byId(x).localeCompare(byId(y)));
      expect(replies.map((f) => (f.ack ? "ack" : f.error.code))).toEqual(["ack", "ack", "ack", "ack", "RATE_LIMITED", "RATE_LIMITED"]);
      for (let i = 0; i < 4; i++) expect((await bobNew.next((f) => f.typing)).typing).toEqual({ senderId: a, receiverId: b });
      await bobNew.expectNothing(300, (f) => f.typing);
      await bobSeed.expectNothing(0, isNew);
      expect((await http(api(`/chat/list/${a}/${b}`))).body.data.records).toBe(0);
      expect((await http(api(`/chat/getMyUnReadCounts?myId=${b}`))).body.data).toEqual({});
    });

    test("a seed-style connection (no features) receives no presence or typing frame, and chats as before", async () => {
      const [a, b] = [user("a"), user("b")];
      const seedA = await login(0, a);
      const seedB = await login(1, b);
      seedA.send({ presence: { subscribe: [b], clientMsgId: "p" } });
      expect((await seedA.next((f) => f.error)).error).toMatchObject({ code: "BAD_FRAME", clientMsgId: "p" });
      const newA = await declared(2, a);
      newA.send({ presence: { subscribe: [b] } });
      newA.send({ typing: { receiverId: b } });
      const newB = await declared(0, b);
      await newA.next((f) => f.presence?.online === true, 5000);
      newB.send({ typing: { receiverId: a } });
      await newA.next((f) => f.typing);
      newB.close();
      await seedA.say(a, b, "plain");
      expect((await seedB.nextMessage()).chatMsg.msg).toBe("plain");
      await Bun.sleep(GRACE_MS + 500);
      expect(seedA.frames.filter(isNew)).toEqual([]);
      expect(seedB.frames.filter(isNew)).toEqual([]);
    }, 20_000);

    test("seq: live frames carry positions on any instance; a reconnect after the position held gets exactly what it lacks; a seed connection sees no position", async () => {
      const [a, b] = [user("a"), user("b")];
      const alice = await login(0, a);
      const { c: bob, ack } = await loginWith(1, b, ["seq"]);
      expect(ack.seqs).toEqual({ [b]: 0, "*": 0 });
      const seedBob = await login(2, b);
      await alice.say(a, b, "one");
      await alice.say(a, b, "two");
      const live = [await bob.nextMessage(), await bob.nextMessage()];
      expect(live.map((f) => [f.chatMsg.msg, f.seq])).toEqual([["one", { [b]: 1, [a]: 1 }], ["two", { [b]: 2, [a]: 2 }]]);
      const seedFrames = [await seedBob.nextMessage(), await seedBob.nextMessage()];
      expect(seedFrames.every((f) => f.seq === undefined && f.chatMsg.seq === undefined)).toBe(true);
      bob.close();
      await alice.say(a, b, "three");
      await alice.say(a, b, "four");
      const again = await TestClient.open(at(2));
      clients.push(again);
      again.send({ chatMsg: { senderId: b, msgType: 0, clientMsgId: "init" }, features: ["seq"], seqs: { [b]: 2 } });
      const replayed = [await again.nextMessage(), await again.nextMessage()];
      expect(replayed.map((f) => [f.chatMsg.msg, f.seq[b]])).toEqual([["three", 3], ["four", 4]]);
      expect((await again.next((f) => f.ack?.clientMsgId === "init")).ack).toMatchObject({ replayed: 2, recovered: true, seqs: { [b]: 4, "*": 0 } });
    }, 20_000);

    test("the conversation list: newest first with the last message and unread counts, paged, as history shows it", async () => {
      const [a, b, c] = [user("a"), user("b"), user("c")];
      const alice = await login(0, a);
      const bob = await login(1, b);
      const carol = await login(2, c);
      const group = (await json(api("/chat/group/create"), { name: "g", members: [a, b, c], ownerId: c })).body.data.groupId;
      await bob.say(b, a, "b1");
      await alice.say(a, b, "a1");
      await carol.say(c, group, "g1", { communicationType: 2 });
      await carol.say(c, a, "c1");
      await carol.say(c, a, "c2");
      const list = async (q: string, method = "GET", i = 1) => (await http(api(`/chat/conversations?userId=${a}${q}`, i), method)).body;
      const all = await eventually(async () => ((await list("")).data.records === 3 ? list("") : undefined), 3000);
      expect(all.data.rows.map((r: any) => [r.conversationId, r.type, r.lastMsg.msg, r.unread])).toEqual([
        [c, 1, "c2", 2],
        [group, 2, "g1", 1],
        [b, 1, "a1", 1],
      ]);
      expect(all.data.rows[1].name).toBe("g");
      const history = (await http(api(`/chat/list/${a}/${c}`))).body.data.rows;
      expect(all.data.rows[0].lastMsg).toEqual(history.at(-1));
      expect(all.data.rows[0].lastTime).toBe(history.at(-1).chatTime);
      const p2 = await list("&page=2&pageSize=2", "POST", 2);
      expect({ page: p2.data.page, total: p2.data.total, ids: p2.data.rows.map((r: any) => r.conversationId) }).toEqual({ page: 2, total: 2, ids: [b] });
      for (const q of ["/chat/conversations", `/chat/conversations?userId=${a}&pageSize=0`, `/chat/conversations?userId=${a}&page=x`, "/chat/conversations?userId=a%20b"]) {
        expect((await http(api(q), "GET")).status).toBe(400);
      }
    });

    more?.({ target: () => s.t, user, declared, login });
  });
}
