// The behavioural suite of group read state (issue 15): a member marks a group read over WebSocket
// or HTTP, the senders' declared connections get one receipt, who-read and read-state answer, the
// unread per member follows, and seed-style connections get nothing new. Run against any target:
// standalone in-process, or a real cluster (the users spread over its instances).
import { describe, expect, test } from "bun:test";
import { json } from "./feature-behaviour.ts";
import { http, suiteTarget, type Target } from "./target.ts";
import { TestClient, type Frame } from "./ws-client.ts";

export function describeReads<T extends Target>(name: string, makeTarget: () => Promise<T>) {
  describe(name, () => {
    const s = suiteTarget(makeTarget);
    const { clients, user, at } = s;
    const api = (path: string, i = 0) => `${s.t.httpUrl(i % s.t.size)}${path}`;
    /** A connection of `userId` on instance `i`; a seed-style one (no features) unless `features`. */
    const login = async (i: number, userId: string, features?: string[]) => {
      const c = await TestClient.open(at(i));
      clients.push(c);
      c.send({ chatMsg: { senderId: userId, msgType: 0, clientMsgId: "init" }, ...(features ? { features } : {}) });
      await c.next((f) => f.ack?.clientMsgId === "init");
      return c;
    };
    const unreadOf = async (userId: string, groupId: string, i = 0) => (await http(api(`/chat/getMyUnReadCounts?myId=${userId}`, i))).body.data[groupId];
    const isRead = (f: Frame) => f.read !== undefined;

    /** Group of a (owner), b and c with two messages from a, delivered to b. */
    async function scene() {
      const [a, b, c] = [user("a"), user("b"), user("c")];
      const aNew = await login(0, a, ["reads"]);
      const aSeed = await login(1 % s.t.size, a);
      const bNew = await login(1, b, ["reads"]);
      const cSeed = await login(2, c);
      const groupId = (await json(api("/chat/group/create"), { name: "reads", members: [b, c], ownerId: a })).body.data.groupId as string;
      const m1 = (await aNew.say(a, groupId, "one", { communicationType: 2 })).msgId;
      const m2 = (await aNew.say(a, groupId, "two", { communicationType: 2 })).msgId;
      for (const m of [m1, m2]) {
        await bNew.nextMessage((f) => f.chatMsg.msgId === m);
        await cSeed.nextMessage((f) => f.chatMsg.msgId === m);
        await aSeed.nextMessage((f) => f.chatMsg.msgId === m);
      }
      return { a, b, c, aNew, aSeed, bNew, cSeed, groupId, m1, m2 };
    }


    test("a member reads on another instance: the sender's declared connection gets one receipt, seed-style ones nothing; who-read, read-state and unread follow", async () => {
      const { a, b, c, aNew, aSeed, bNew, cSeed, groupId, m1, m2 } = await scene();
      expect(await unreadOf(b, groupId)).toBe(2);
      bNew.send({ read: { receiverId: groupId, msgId: m1, clientMsgId: "r1" } });
      expect((await bNew.next((f) => f.ack?.clientMsgId === "r1" || f.error)).ack).toEqual({ clientMsgId: "r1", msgId: m1, unread: 1 });
      expect((await aNew.next(isRead)).read).toEqual({ receiverId: groupId, readerId: b, msgId: m1 });
      expect(await unreadOf(b, groupId, 2)).toBe(1);
      expect(await unreadOf(c, groupId, 1)).toBe(2);

      const who = await json(api(`/chat/group/${groupId}/reads?msgId=${m1}&userId=${a}`, 2));
      expect(who.body.data).toEqual({ groupId, msgId: m1, senderId: a, readBy: [b], unreadBy: [c] });
      // The seed-lineage reader c marks over HTTP; a hears it once more.
      const marked = await json(api(`/chat/group/${groupId}/read`, 1), { userId: c, msgId: m2 });
      expect(marked.body.data).toEqual({ groupId, msgId: m2, unread: 0 });
      expect((await aNew.next(isRead)).read).toEqual({ receiverId: groupId, readerId: c, msgId: m2 });
      expect((await json(api(`/chat/group/${groupId}/reads?msgId=${m1}&userId=${b}`))).body.data.readBy).toEqual([b, c].sort());
      const state = await json(api(`/chat/group/${groupId}/read-state?userId=${c}`, 1));
      const expected = [
        { userId: a, msgId: null, unread: 0 },
        { userId: b, msgId: m1, unread: 1 },
        { userId: c, msgId: m2, unread: 0 },
      ].sort((x, y) => x.userId.localeCompare(y.userId));
      expect(state.body.data).toEqual({ groupId, page: 1, total: 1, records: 3, rows: expected });

      // The seed's SIGNED for a group message works as before, and only it reaches the seed clients.
      cSeed.send({ chatMsg: { senderId: c, msgType: 8, msgId: m2 } });
      expect((await aSeed.nextMessage((f) => f.chatMsg.msgType === 8)).chatMsg).toMatchObject({ msgId: m2, senderId: c, receiverId: a });
      await aSeed.expectNothing(300, isRead);
      await cSeed.expectNothing(0, isRead);
      await bNew.expectNothing(0, isRead); // the receipt does not come back to the reading connection
      await aNew.expectNothing(0, isRead); // one receipt per read
    });

    test("a read of an earlier message leaves the position, the unread and the senders alone", async () => {
      const { a, b, aNew, bNew, groupId, m1, m2 } = await scene();
      bNew.send({ read: { receiverId: groupId, msgId: m2, clientMsgId: "up" } });
      await bNew.next((f) => f.ack?.clientMsgId === "up");
      await aNew.next(isRead);
      bNew.send({ read: { receiverId: groupId, msgId: m1, clientMsgId: "back" } });
      expect((await bNew.next((f) => f.ack?.clientMsgId === "back" || f.error)).ack).toEqual({ clientMsgId: "back", msgId: m2, unread: 0 });
      await aNew.expectNothing(400, isRead);
      expect((await json(api(`/chat/group/${groupId}/reads?msgId=${m2}&userId=${a}`))).body.data.readBy).toEqual([b]);
    });

    test("bad input: a non-member is FORBIDDEN, an unknown group or message NOT_FOUND, a malformed id BAD_FRAME; over WebSocket and HTTP", async () => {
      const { b, bNew, groupId, m1 } = await scene();
      const mallory = user("m");
      const mal = await login(0, mallory, ["reads"]);
      const other = (await json(api("/chat/group/create"), { name: "other", members: [], ownerId: mallory })).body.data.groupId as string;
      const elsewhere = (await mal.say(mallory, other, "elsewhere", { communicationType: 2 })).msgId;
      const ws: Array<[TestClient, object, string]> = [
        [mal, { receiverId: groupId, msgId: m1 }, "FORBIDDEN"],
        [bNew, { receiverId: "group:1", msgId: m1 }, "NOT_FOUND"],
        [bNew, { receiverId: groupId, msgId: elsewhere }, "NOT_FOUND"],
        [bNew, { receiverId: groupId, msgId: "x1" }, "BAD_FRAME"],
        [bNew, { receiverId: "group:abc", msgId: m1 }, "BAD_FRAME"],
      ];
      for (const [conn, read, code] of ws) {
        const cid = `bad-${code}-${Math.random()}`;
        conn.send({ read: { ...read, clientMsgId: cid } });
        expect((await conn.next((f) => f.error?.clientMsgId === cid || f.ack?.clientMsgId === cid)).error?.code).toBe(code);
      }
      const routes: Array<[string, unknown, number]> = [
        [`/chat/group/${groupId}/reads?msgId=${m1}&userId=${mallory}`, undefined, 403],
        [`/chat/group/${groupId}/read-state?userId=${mallory}`, undefined, 403],
        [`/chat/group/${groupId}/read`, { userId: mallory, msgId: m1 }, 403],
        [`/chat/group/group:1/reads?msgId=${m1}&userId=${b}`, undefined, 404],
        [`/chat/group/${groupId}/reads?msgId=${elsewhere}&userId=${b}`, undefined, 404],
        [`/chat/group/${groupId}/reads?msgId=12x&userId=${b}`, undefined, 400],
        [`/chat/group/${groupId}/reads?userId=${b}`, undefined, 400],
        [`/chat/group/group:x/read-state?userId=${b}`, undefined, 400],
        [`/chat/group/${groupId}/read-state`, undefined, 400],
        [`/chat/group/${groupId}/read-state?userId=${b}&pageSize=500`, undefined, 400],
        [`/chat/group/${groupId}/read`, { userId: b }, 400],
        [`/chat/group/${groupId}/read`, { userId: b, msgId: 5 }, 400],
      ];
      for (const [path, body, status] of routes) {
        const r = await json(api(path, 1), body);
        expect({ path, status: r.status, success: r.body.success }).toEqual({ path, status, success: false });
        expect(r.body.msg.length).toBeGreaterThan(5);
      }
      expect((await json(api(`/chat/group/${groupId}/read-state?userId=${b}`))).body.data.rows.every((r: any) => r.msgId === null)).toBe(true);
      expect(bNew.closed).toBeUndefined();
    });
  });
}
