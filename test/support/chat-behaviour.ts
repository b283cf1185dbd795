// The behavioural suite of SPEC §7–8, run against any target: standalone in-process, or a real cluster.
import { describe, expect, test } from "bun:test";
import { http, suiteTarget, type Target } from "./target.ts";
import { TestClient } from "./ws-client.ts";

const CHAT_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const FRAME_TIME = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/;

/** Registers the suite; `makeTarget` starts the instances, spread users over them with `at(i)`. */
export function describeChat(name: string, makeTarget: () => Promise<Target>) {
  describe(name, () => {
    const s = suiteTarget(makeTarget);
    const { clients, user, at } = s;
    const login = async (i: number, userId: string, extra = {}) => {
      const c = await TestClient.login(at(i), userId, extra);
      clients.push(c);
      return c;
    };
    const open = async (i: number) => {
      const c = await TestClient.open(at(i));
      clients.push(c);
      return c;
    };


    test("a text message reaches every device of the receiver and the sender's other devices, not the sending one", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const a2 = await login(2, a);
      const b1 = await login(1, b);
      const b2 = await login(0, b);
      const ack = await a1.say(a, b, "hello");
      expect(ack.msgId).toMatch(/^\d+$/);
      expect(ack.chatTime).toMatch(CHAT_TIME);
      for (const c of [b1, b2, a2]) {
        const f = await c.nextMessage();
        expect(f.chatMsg).toMatchObject({ senderId: a, receiverId: b, msg: "hello", msgType: 1, msgId: ack.msgId, chatTime: ack.chatTime });
        expect(f.chatTime).toMatch(FRAME_TIME);
        expect(typeof f.extend).toBe("string");
        expect(f.extend.length).toBeGreaterThan(0);
      }
      await a1.expectNothing(300, (f) => f.chatMsg);
    });

    test("every chat type 1–4 gets a fresh increasing msgId and the server's chatTime", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const b1 = await login(1, b);
      const sent = [
        { msgType: 1, msg: "words" },
        { msgType: 2, msg: "https://example.test/p.png" },
        { msgType: 3, msg: "", voicePath: "/v/1.mp3", speakVoiceDuration: 3 },
        { msgType: 4, msg: "https://example.test/cover.png", videoPath: "/v.mp4", videoWidth: 640, videoHeight: 480, videoTimes: 12 },
      ];
      const ids: bigint[] = [];
      for (const s of sent) {
        a1.send({ chatMsg: { senderId: a, receiverId: b, clientMsgId: `c${s.msgType}`, msgId: "1", chatTime: "1999-01-01 00:00:00", ...s } });
        const f = await b1.nextMessage();
        expect(f.chatMsg).toMatchObject({ ...s, senderId: a, receiverId: b });
        expect(f.chatMsg.chatTime).not.toBe("1999-01-01 00:00:00");
        expect(f.chatMsg.msgId).not.toBe("1");
        ids.push(BigInt(f.chatMsg.msgId));
      }
      expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
    });

    test("a sender naming another user gets FORBIDDEN and the message goes nowhere", async () => {
      const [a, b, c] = [user("a"), user("b"), user("c")];
      const a1 = await login(0, a);
      const b1 = await login(1, b);
      a1.send({ chatMsg: { senderId: c, receiverId: b, msg: "spoof", msgType: 1 } });
      expect((await a1.next((f) => f.error)).error.code).toBe("FORBIDDEN");
      await b1.expectNothing(300);
      const { body } = await http(`${s.t.httpUrl()}/chat/list/${c}/${b}`);
      expect(body.data.records).toBe(0);
      await a1.say(a, b, "still works");
      expect((await b1.nextMessage()).chatMsg.msg).toBe("still works");
    });

    test("a resend of the same clientMsgId gets the same msgId and is never delivered under another", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const b1 = await login(1, b);
      const first = await a1.say(a, b, "once", { clientMsgId: "dup-1" });
      await b1.nextMessage();
      const a2 = await login(2, a); // the resend may come from another device/instance
      const again = await a2.say(a, b, "once", { clientMsgId: "dup-1" });
      expect(again.msgId).toBe(first.msgId);
      expect(again.chatTime).toBe(first.chatTime);
      // A cluster hands the stored message on again (its first attempt may have died between store
      // and publish); receivers drop it by msgId. A second message never appears.
      await b1.expectNothing(400, (f) => f.chatMsg && f.chatMsg.msgId !== first.msgId);
      const { body } = await http(`${s.t.httpUrl()}/chat/list/${a}/${b}`);
      expect(body.data.records).toBe(1);
    });

    test("the ack comes after the message is in history", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const ack = await a1.say(a, b, "durable");
      const { body } = await http(`${s.t.httpUrl(1 % s.t.size)}/chat/list/${a}/${b}`);
      expect(body.data.rows.map((r: any) => r.msgId)).toEqual([ack.msgId]);
    });

    test("SIGNED marks the message read and tells the original sender's devices", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const a2 = await login(2, a);
      const b1 = await login(1, b);
      const { msgId } = await a1.say(a, b, "read me");
      await b1.nextMessage();
      await a2.nextMessage();
      b1.send({ chatMsg: { msgType: 8, msgId, clientMsgId: "s1" } });
      expect((await b1.next((f) => f.ack)).ack).toMatchObject({ clientMsgId: "s1", msgId });
      for (const c of [a1, a2]) {
        expect((await c.nextMessage()).chatMsg).toEqual({ msgType: 8, msgId, senderId: b, receiverId: a });
      }
      const { body } = await http(`${s.t.httpUrl()}/chat/list/${a}/${b}`);
      expect(body.data.rows[0].isRead).toBe(true);
    });

    test("only the receiver may sign a message, and an unknown msgId is NOT_FOUND", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const { msgId } = await a1.say(a, b, "mine");
      a1.send({ chatMsg: { msgType: 8, msgId } });
      expect((await a1.next((f) => f.error)).error.code).toBe("FORBIDDEN");
      a1.send({ chatMsg: { msgType: 8, msgId: "12345" } });
      expect((await a1.next((f) => f.error)).error.code).toBe("NOT_FOUND");
      const { body } = await http(`${s.t.httpUrl()}/chat/list/${a}/${b}`);
      expect(body.data.rows[0].isRead).toBe(false);
    });

    test("KEEPALIVE gets no reply", async () => {
      const a1 = await login(0, user("a"));
      a1.send({ chatMsg: { msgType: 9 } });
      await a1.expectNothing(400);
    });

    test("a chat frame before CONNECT_INIT gets NOT_INITIALIZED and the connection keeps working", async () => {
      const [a, b] = [user("a"), user("b")];
      const b1 = await login(1, b);
      const c = await open(0);
      c.send({ chatMsg: { senderId: a, receiverId: b, msg: "early", msgType: 1 } });
      expect((await c.next((f) => f.error)).error.code).toBe("NOT_INITIALIZED");
      await c.init(a);
      await c.say(a, b, "after init");
      expect((await b1.nextMessage()).chatMsg.msg).toBe("after init");
    });

    test("malformed frames get BAD_JSON or BAD_FRAME naming the problem and the connection stays open", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const cases: Array<[string, string, RegExp]> = [
        ["{not json", "BAD_JSON", /JSON/],
        ["[]", "BAD_FRAME", /./],
        ["null", "BAD_FRAME", /./],
        [JSON.stringify({ chatMsg: { msgType: "one" } }), "BAD_FRAME", /msgType/],
        [JSON.stringify({ chatMsg: { msgType: 1, receiverId: { id: 5 }, msg: "x" } }), "BAD_FRAME", /receiverId/],
        [JSON.stringify({ chatMsg: { msgType: 1, msg: "no receiver" } }), "BAD_FRAME", /receiverId/],
        [JSON.stringify({ chatMsg: { msgType: 1, receiverId: b, msg: "" } }), "BAD_FRAME", /msg/],
        [JSON.stringify({ chatMsg: { msgType: 7, receiverId: b } }), "BAD_FRAME", /msgType/],
        [JSON.stringify({ nothing: true }), "BAD_FRAME", /chatMsg/],
      ];
      for (const [frame, code, message] of cases) {
        a1.send(frame);
        const { error } = await a1.next((f) => f.error);
        expect(error.code).toBe(code);
        expect(error.message).toMatch(message);
      }
      a1.ws.send(new Uint8Array([1, 2, 3]));
      expect((await a1.next((f) => f.error)).error.code).toBe("BAD_FRAME");
      expect(a1.closed).toBeUndefined();
      await a1.say(a, b, "still here");
    });

    test("unknown fields, a client serverNode and a numeric msgId are accepted", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a, { serverNode: { ip: "6.6.6.6", port: 1, onlineCounts: -5 }, whatever: 1 });
      const b1 = await login(1, b);
      a1.send({ chatMsg: { senderId: a, receiverId: b, msg: "x", msgType: 1, msgId: 123, future: { a: 1 } }, extra: "ignored", serverNode: { ip: "x" } });
      const f = await b1.nextMessage();
      expect(f.chatMsg.future).toBeUndefined();
      expect(f.chatMsg.msg).toBe("x");
      expect(f.chatMsg.msgId).not.toBe("123"); // a chat frame's own msgId is replaced by the server's
      // The seed's clients send msgId as a JSON number (Java Long), here beyond 2^53: it names the message exactly.
      const id: string = f.chatMsg.msgId;
      expect(BigInt(id) > 2n ** 53n).toBe(true);
      b1.send(`{"chatMsg":{"msgType":8,"msgId":${id},"clientMsgId":"signed-as-number"}}`);
      expect((await b1.next((g) => g.ack?.clientMsgId === "signed-as-number")).ack.msgId).toBe(id);
      expect((await a1.nextMessage((g) => g.chatMsg.msgType === 8)).chatMsg).toMatchObject({ msgId: id, senderId: b, receiverId: a });
    });

    test("a seed client's VIDEO frame, typed as the lineage's Jackson reads it, is delivered and stored with the lineage's types", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const b1 = await login(1, b);
      // As the seed's client sends it: Integer flag 1, numbers as strings, no clientMsgId (so no ack).
      a1.send({ chatMsg: { senderId: a, receiverId: b, msg: "http://v/cover.png", msgType: "4", videoPath: "http://v/a.mp4", videoWidth: "640", videoHeight: 480, videoTimes: 12.0, showMsgDateTimeFlag: 1, isRead: "false" } });
      const f = await b1.nextMessage((g) => g.chatMsg.msgType === 4);
      expect(f.chatMsg).toMatchObject({ msgType: 4, videoWidth: 640, videoHeight: 480, videoTimes: 12, showMsgDateTimeFlag: 1, isRead: false });
      // An older client of this project sent the flag as a boolean: read as 1.
      await a1.say(a, b, "flag as boolean", { showMsgDateTimeFlag: true });
      expect((await b1.nextMessage((g) => g.chatMsg.msg === "flag as boolean")).chatMsg.showMsgDateTimeFlag).toBe(1);
      const rows = (await http(`${s.t.httpUrl(0)}/chat/list/${a}/${b}?page=1&pageSize=10`)).body.data.rows;
      expect(rows.map((r: any) => r.showMsgDateTimeFlag)).toEqual([1, 1]);
      expect(rows[0]).toMatchObject({ msgType: 4, videoWidth: 640 });
    });

    test("a second CONNECT_INIT on a connection neither re-binds nor re-counts it; naming another user is FORBIDDEN", async () => {
      const [a, b, c] = [user("a"), user("b"), user("c")];
      const a1 = await login(0, a);
      await a1.init(a); // the same user again: acked, nothing changes
      a1.send({ chatMsg: { senderId: c, msgType: 0, clientMsgId: "as-c" } });
      expect((await a1.next((f) => f.error)).error).toMatchObject({ code: "FORBIDDEN", clientMsgId: "as-c" });
      expect(a1.frames.some((f) => f.ack?.clientMsgId === "as-c")).toBe(false);
      const sender = await login(1, b);
      await sender.say(b, c, "to c");
      await a1.expectNothing(300, (f) => f.chatMsg);
      await sender.say(b, a, "to a");
      expect((await a1.nextMessage()).chatMsg.msg).toBe("to a");
      a1.send({ chatMsg: { senderId: c, receiverId: b, msg: "as c", msgType: 1 } });
      expect((await a1.next((f) => f.error)).error.code).toBe("FORBIDDEN");
    });

    test("CONNECT_INIT with the last msgId replays newer messages oldest first, before live traffic", async () => {
      const [a, b, x] = [user("a"), user("b"), user("x")];
      const a1 = await login(0, a);
      const first = await a1.say(a, b, "m0");
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++) ids.push((await a1.say(a, b, `m${i}`)).msgId);
      const bx = await login(1, x);
      ids.push((await bx.say(x, b, "from x")).msgId); // to b from someone else
      await bx.say(x, a, "not for b");
      const b1 = await open(1);
      b1.send({ chatMsg: { senderId: b, msgType: 0, msgId: first.msgId, clientMsgId: "r" } });
      const got: string[] = [];
      for (let i = 0; i < ids.length; i++) got.push((await b1.nextMessage()).chatMsg.msgId);
      expect(got).toEqual(ids);
      await b1.next((f) => f.ack?.clientMsgId === "r");
      await a1.say(a, b, "live");
      expect((await b1.nextMessage()).chatMsg.msg).toBe("live");
      await b1.expectNothing(200, (f) => f.chatMsg);
    });

    test("history pages count from the newest with rows oldest first within a page", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const b1 = await login(1, b);
      const ids: string[] = [];
      for (let i = 0; i < 45; i++) ids.push((await (i % 3 ? a1.say(a, b, `m${i}`) : b1.say(b, a, `m${i}`))).msgId);
      const page = async (p: number, size = 20) => (await http(`${s.t.httpUrl()}/chat/list/${b}/${a}?page=${p}&pageSize=${size}`)).body;
      const p1 = await page(1);
      expect(p1).toMatchObject({ status: 200, success: true, data: { page: 1, total: 3, records: 45 } });
      expect(p1.data.rows.map((r: any) => r.msgId)).toEqual(ids.slice(25, 45));
      expect((await page(2)).data.rows.map((r: any) => r.msgId)).toEqual(ids.slice(5, 25));
      expect((await page(3)).data.rows.map((r: any) => r.msgId)).toEqual(ids.slice(0, 5));
      expect((await page(4)).data.rows).toEqual([]);
      expect((await page(1, 45)).data).toMatchObject({ total: 1, records: 45 });
      const def = (await http(`${s.t.httpUrl()}/chat/list/${a}/${b}`)).body.data;
      expect(def).toMatchObject({ page: 1, total: 3, records: 45 });
      expect(def.rows).toHaveLength(20);
    });

    test("bad history parameters get 400 naming the parameter", async () => {
      for (const [q, name] of [["page=0", "page"], ["page=x", "page"], ["pageSize=0", "pageSize"], ["pageSize=100000", "pageSize"]]) {
        const r = await http(`${s.t.httpUrl()}/chat/list/a/b?${q}`);
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ status: 400, success: false });
        expect(r.body.msg).toContain(name);
      }
      const r = await http(`${s.t.httpUrl()}/chat/getMyUnReadCounts`);
      expect(r.status).toBe(400);
      expect(r.body.msg).toContain("myId");
    });

    test("unread counters count per sender and clear per sender", async () => {
      const [a, b, c] = [user("a"), user("b"), user("c")];
      const a1 = await login(0, a);
      const c1 = await login(1, c);
      await a1.say(a, b, "1");
      await a1.say(a, b, "2");
      await c1.say(c, b, "3");
      const counts = async () => {
        // counters may be updated just after the ack
        await Bun.sleep(100);
        return (await http(`${s.t.httpUrl()}/chat/getMyUnReadCounts?myId=${b}`)).body.data;
      };
      expect(await counts()).toEqual({ [a]: 2, [c]: 1 });
      expect((await http(`${s.t.httpUrl()}/chat/clearMyUnReadCounts?myId=${b}&oppositeId=${a}`)).status).toBe(200);
      expect(await counts()).toEqual({ [a]: 0, [c]: 1 });
    });

    test("signRead marks a stored message read and answers 404 for an unknown one", async () => {
      const [a, b] = [user("a"), user("b")];
      const a1 = await login(0, a);
      const { msgId } = await a1.say(a, b, "x");
      expect((await http(`${s.t.httpUrl()}/chat/signRead/${msgId}`)).status).toBe(200);
      expect((await http(`${s.t.httpUrl()}/chat/list/${a}/${b}`)).body.data.rows[0].isRead).toBe(true);
      expect((await http(`${s.t.httpUrl()}/chat/signRead/424242`)).status).toBe(404);
      expect((await http(`${s.t.httpUrl()}/chat/signRead/abc`)).status).toBe(400);
    });

    test("getNettyOnlineInfo answers on both paths and both methods with a live instance", async () => {
      for (const path of ["/chat/getNettyOnlineInfo", "/getNettyOnlineInfo"]) {
        for (const method of ["POST", "GET"]) {
          const r = await http(`${s.t.httpUrl()}${path}`, method);
          expect(r.status).toBe(200);
          expect(r.body).toMatchObject({ status: 200, success: true });
          expect(Object.keys(r.body.data)).toEqual(["ip", "port", "onlineCounts"]);
          expect(typeof r.body.data.port).toBe("number");
        }
      }
    });

    test("health reports ok with its checks and metrics are Prometheus text", async () => {
      const h = await http(`${s.t.httpUrl()}/health`, "GET");
      expect(h.status).toBe(200);
      expect(h.body.status).toBe("ok");
      expect(Object.values(h.body.checks).every((v) => v === "ok")).toBe(true);
      const res = await fetch(`${s.t.httpUrl()}/metrics`);
      expect(res.headers.get("content-type")).toContain("text/plain");
      const text = await res.text();
      for (const name of ["im_connections", "im_online_counts", "im_frames_in_total", "im_messages_delivered_total", "im_store_write_seconds_bucket"]) {
        expect(text).toContain(name);
      }
    });
  });
}
