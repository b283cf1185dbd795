// The behavioural suite of recall, edit and delete-for-me, run against any target: standalone
// in-process, or a real cluster (users spread over its instances).
import { describe, expect, test } from "bun:test";
import { suiteTarget, type Target } from "./target.ts";
import { TestClient, type Frame } from "./ws-client.ts";

/** The suite's environment: a short window, so that passing it takes seconds. */
export const EDIT_ENV = { EDIT_WINDOW_MS: "4000" };
const WINDOW_MS = Number(EDIT_ENV.EDIT_WINDOW_MS);

const isEvent = (f: Frame) => f.recall !== undefined || f.edit !== undefined || f.delete !== undefined;

export function describeEdits<T extends Target>(name: string, makeTarget: () => Promise<T>) {
  describe(name, () => {
    const s = suiteTarget(makeTarget);
    const { clients, user, at } = s;
    /** A connection of `userId` on instance `i`; `features` undefined: a seed client (declares nothing). */
    const connect = async (i: number, userId: string, opts: { features?: string[]; msgId?: string } = {}) => {
      const c = await TestClient.open(at(i));
      clients.push(c);
      c.send({ chatMsg: { senderId: userId, msgType: 0, clientMsgId: "init", msgId: opts.msgId }, features: opts.features });
      await c.next((f) => f.ack?.clientMsgId === "init");
      return c;
    };
    const declared = (i: number, userId: string, msgId?: string) => connect(i, userId, { features: ["edit"], msgId });
    /** Sends a request frame and resolves to its ack or error. */
    const request = async (c: TestClient, frame: Frame) => {
      const cid = (Object.values(frame)[0] as { clientMsgId: string }).clientMsgId;
      c.send(frame);
      return c.next((f) => f.ack?.clientMsgId === cid || f.error?.clientMsgId === cid);
    };
    const history = async (a: string, b: string, i = 0) => {
      const res = await fetch(`${s.t.httpUrl(i % s.t.size)}/chat/list/${a}/${b}?page=1&pageSize=50`, { method: "POST" });
      return (await res.json()).data;
    };


    test("a recall and an edit reach the peer's and the sender's other declared connections live, on any instance; a seed connection gets nothing new", async () => {
      const [a, b] = [user("a"), user("b")];
      const alice = await declared(0, a);
      const aliceOther = await declared(2, a);
      const bob = await declared(1, b);
      const bobSeed = await connect(2, b);
      const first = await alice.say(a, b, "first");
      const second = await alice.say(a, b, "secnod");
      for (const c of [bob, bobSeed]) await c.nextMessage((f) => f.chatMsg.msgId === second.msgId);
      bobSeed.frames.splice(0);
      const recall = (await request(alice, { recall: { msgId: first.msgId, clientMsgId: "r" } })).ack;
      expect(recall).toMatchObject({ clientMsgId: "r" });
      const edit = (await request(alice, { edit: { msgId: second.msgId, msg: "second", clientMsgId: "e" } })).ack;
      for (const c of [bob, aliceOther]) {
        expect((await c.next((f) => f.recall)).recall).toEqual({ eventId: recall.msgId, msgId: first.msgId, senderId: a, receiverId: b, chatTime: recall.chatTime });
        expect((await c.next((f) => f.edit)).edit).toEqual({ eventId: edit.msgId, msgId: second.msgId, senderId: a, receiverId: b, chatTime: edit.chatTime, msg: "second" });
      }
      await bobSeed.expectNothing(300, isEvent);
      expect(bobSeed.frames.filter((f) => f.chatMsg)).toEqual([]); // nor a message again
      expect((await history(b, a, 1)).rows.map((m: Frame) => [m.msg, m.recalled ?? m.edited ?? false])).toEqual([["", true], ["second", true]]);
    });

    test("a device that reconnects with replay gets each message as it now is, then the events; a seed device the result only", async () => {
      const [a, b] = [user("a"), user("b")];
      const alice = await declared(0, a);
      const before = await alice.say(a, b, "before");
      const recalled = await alice.say(a, b, "secret");
      const edited = await alice.say(a, b, "tpyo");
      await request(alice, { recall: { msgId: recalled.msgId, clientMsgId: "r" } });
      await request(alice, { edit: { msgId: edited.msgId, msg: "typo", clientMsgId: "e" } });
      const shape = (f: Frame) => (f.chatMsg ? [f.chatMsg.msgId, f.chatMsg.msg] : Object.keys(f)[0]);
      const replayed = async (c: TestClient, n: number) => {
        const got: Frame[] = [];
        while (got.length < n) got.push(await c.next((f) => f.chatMsg !== undefined || isEvent(f)));
        return got.map(shape);
      };
      const bob = await declared(1, b, before.msgId);
      expect(await replayed(bob, 4)).toEqual([[recalled.msgId, ""], [edited.msgId, "typo"], "recall", "edit"]);
      const bobSeed = await connect(2, b, { msgId: before.msgId });
      expect(await replayed(bobSeed, 2)).toEqual([[recalled.msgId, ""], [edited.msgId, "typo"]]);
      await bobSeed.expectNothing(300, isEvent);
    });

    test("a delete is for the user only: its other declared devices are told, history leaves the message out for it alone", async () => {
      const [a, b] = [user("a"), user("b")];
      const alice = await declared(0, a);
      const bob = await declared(1, b);
      const bobOther = await declared(2, b);
      const kept = await alice.say(a, b, "kept");
      const gone = await alice.say(a, b, "gone");
      await bob.nextMessage((f) => f.chatMsg.msgId === gone.msgId);
      const ack = (await request(bob, { delete: { msgId: gone.msgId, clientMsgId: "d" } })).ack;
      expect((await bobOther.next((f) => f.delete)).delete).toEqual({ eventId: ack.msgId, msgId: gone.msgId, userId: b, chatTime: ack.chatTime });
      await alice.expectNothing(300, isEvent);
      expect((await history(b, a)).rows.map((m: Frame) => m.msg)).toEqual(["kept"]);
      expect((await history(a, b, 1)).rows.map((m: Frame) => m.msg)).toEqual(["kept", "gone"]);
      expect(kept.msgId).toBeDefined();
    });

    test("over HTTP the same requests and rules; every declared connection of the audience gets the frame, the sender's own too", async () => {
      const [a, b] = [user("a"), user("b")];
      const alice = await declared(0, a);
      const bob = await declared(1, b);
      const m = await alice.say(a, b, "via http");
      const post = async (path: string, body?: unknown, i = 0) => {
        const res = await fetch(`${s.t.httpUrl(i % s.t.size)}${path}`, {
          method: "POST", headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: await res.json() };
      };
      const edited = await post(`/chat/message/${m.msgId}/edit?userId=${a}`, { msg: "via HTTP", clientMsgId: "h1" }, 2);
      expect(edited.status).toBe(200);
      expect(edited.body.data).toMatchObject({ duplicate: false });
      for (const c of [alice, bob]) expect((await c.next((f) => f.edit)).edit).toMatchObject({ eventId: edited.body.data.eventId, msgId: m.msgId, msg: "via HTTP" });
      expect((await post(`/chat/message/${m.msgId}/edit?userId=${a}`, { msg: "via HTTP", clientMsgId: "h1" })).body.data).toEqual({ ...edited.body.data, duplicate: true });
      const refused = [
        [await post(`/chat/message/${m.msgId}/recall?userId=${b}`), 403, "only the sender"],
        [await post(`/chat/message/1234567/recall?userId=${a}`), 404, "no message 1234567"],
        [await post(`/chat/message/${m.msgId}/edit?userId=${a}`, { msg: "" }), 400, "must not be empty"],
        [await post(`/chat/message/${m.msgId}/recall`), 400, "parameter userId is required"],
        [await post(`/chat/message/x1/delete?userId=${a}`), 400, "parameter msgId"],
      ] as const;
      for (const [res, status, text] of refused) expect({ status: res.status, has: res.body.msg.includes(text) }).toEqual({ status, has: true });
      const deleted = await post(`/chat/message/${m.msgId}/delete?userId=${b}`, undefined, 1);
      expect(deleted.status).toBe(200);
      expect((await bob.next((f) => f.delete)).delete).toMatchObject({ msgId: m.msgId, userId: b });
      await alice.expectNothing(200, (f) => f.delete !== undefined);
    });

    test("refusals: unknown message, not the sender, an event, empty text, a recalled message, a connection that did not declare \"edit\", past the window", async () => {
      const [a, b] = [user("a"), user("b")];
      const alice = await declared(0, a);
      const bob = await declared(1, b);
      const seed = await connect(1, b);
      const m = await alice.say(a, b, "hello");
      const other = await alice.say(a, b, "other");
      const event = (await request(alice, { recall: { msgId: other.msgId, clientMsgId: "r0" } })).ack.msgId;
      const cases: Array<[TestClient, Frame, string, string]> = [
        [alice, { recall: { msgId: "1234567", clientMsgId: "c1" } }, "NOT_FOUND", "no message 1234567"],
        [bob, { recall: { msgId: m.msgId, clientMsgId: "c2" } }, "FORBIDDEN", "only the sender of a message may recall it"],
        [alice, { recall: { msgId: event, clientMsgId: "c3" } }, "BAD_FRAME", "is a recall, edit or delete event, not a message"],
        [alice, { edit: { msgId: m.msgId, msg: "", clientMsgId: "c4" } }, "BAD_FRAME", "edit.msg: the new text must not be empty"],
        [alice, { edit: { msgId: other.msgId, msg: "x", clientMsgId: "c5" } }, "FORBIDDEN", "was recalled: it can no longer be edited"],
        [seed, { delete: { msgId: m.msgId, clientMsgId: "c6" } }, "BAD_FRAME", `declare "edit" in CONNECT_INIT's "features"`],
      ];
      for (const [c, frame, code, message] of cases) {
        const { error } = await request(c, frame);
        expect({ code: error?.code, has: error?.message?.includes(message) }).toEqual({ code, has: true });
      }
      await Bun.sleep(WINDOW_MS + 200);
      const late = (await request(alice, { edit: { msgId: m.msgId, msg: "late", clientMsgId: "c7" } })).error;
      expect(late.code).toBe("FORBIDDEN");
      expect(late.message).toContain(`within 4 seconds (EDIT_WINDOW_MS=${WINDOW_MS})`);
      await bob.expectNothing(200, (f) => f.edit !== undefined);
      expect((await history(a, b)).rows.map((r: Frame) => r.msg)).toEqual(["hello", ""]);
    });
  });
}
