// Recall, edit and delete-for-me in the message store, on SQLite and a real PostgreSQL: what a
// recall or edit leaves on its message, the per-user hidden set, and what history, replay and the
// conversation list show (event rows: never in history, always in replay).
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { createSqlStore, type SqlStore } from "../../lib/adapters/sql/store.ts";
import type { StoredMsg } from "../../lib/core/ports.ts";
import { silentLogger } from "../../lib/log.ts";
import { EventType } from "../../lib/protocol/edits.ts";
import { createSnowflake } from "../../lib/protocol/snowflake.ts";
import { PG } from "../support/services.ts";

const ids = createSnowflake(78);
let n = 0;
function msg(senderId: string, receiverId: string, over: Partial<StoredMsg> = {}): StoredMsg {
  return { msgId: ids.next(), senderId, receiverId, msgType: 1, msg: `m${++n}`, chatTime: "2026-01-05 03:04:09", communicationType: receiverId.startsWith("group:") ? 2 : 1, ...over };
}
/** An event row naming `target`, as lib/core/edits.ts stores it. */
const event = (type: number, senderId: string, target: StoredMsg, text?: string) =>
  msg(senderId, type === EventType.DELETE ? senderId : target.receiverId, { msgType: type, refId: target.msgId, msg: text, isRead: true });

function suite(name: string, open: () => Promise<SqlStore>, before?: () => Promise<void>) {
  describe(`recall, edit and delete on ${name}`, () => {
    let store: SqlStore;
    beforeEach(async () => {
      await before?.();
      store = await open();
      return async () => store.close();
    });
    const texts = async (a: string, b: string) => (await store.history(a, b, 1, 50)).rows.map((m) => m.msg);

    test("a recall empties the message and its media and marks it recalled; a later edit changes nothing", async () => {
      const voice = msg("alice", "bob", { msgType: 3, msg: "", voicePath: "http://x/v.mp3", speakVoiceDuration: 3 });
      await store.save(voice);
      const recall = event(EventType.RECALL, "alice", voice);
      await store.save(recall);
      expect(await store.applyEdit({ msgId: voice.msgId, eventId: recall.msgId, recall: true })).toBe(true);
      expect(await store.applyEdit({ msgId: voice.msgId, eventId: ids.next(), recall: true })).toBe(false); // recalled already
      expect(await store.applyEdit({ msgId: voice.msgId, eventId: ids.next(), msg: "after" })).toBe(false);
      const got = (await store.get(voice.msgId))!;
      expect(got).toMatchObject({ msg: "", recalled: true, msgType: 3 });
      expect(got.voicePath).toBeUndefined();
      expect(got.edited).toBeUndefined();
      expect((await store.history("bob", "alice", 1, 20)).rows.map((r) => [r.msgId, r.msg, r.recalled, r.voicePath])).toEqual([[voice.msgId, "", true, undefined]]);
    });

    test("an edit replaces the text and marks it edited; of two edits the later event's text stays, in either order", async () => {
      const m = msg("alice", "bob", { msg: "v0" });
      await store.save(m);
      const [e1, e2] = [event(EventType.EDIT, "alice", m, "v1"), event(EventType.EDIT, "alice", m, "v2")];
      await store.save(e1);
      await store.save(e2);
      expect(await store.applyEdit({ msgId: m.msgId, eventId: e2.msgId, msg: "v2" })).toBe(true);
      expect(await store.applyEdit({ msgId: m.msgId, eventId: e1.msgId, msg: "v1" })).toBe(false); // the earlier edit lost
      expect(await store.get(m.msgId)).toMatchObject({ msg: "v2", edited: true });
      expect(await texts("alice", "bob")).toEqual(["v2"]);
    });

    test("event rows are never history (nor counted in it) but are replayed, naming their target", async () => {
      const m = msg("alice", "bob");
      await store.save(m);
      const [e, d] = [event(EventType.EDIT, "alice", m, "new"), event(EventType.DELETE, "bob", m)];
      await store.save(e);
      await store.save(d);
      for (const [a, b] of [["alice", "bob"], ["bob", "alice"], ["bob", "bob"]]) {
        const h = await store.history(a, b, 1, 20);
        expect({ a, b, rows: h.rows.map((r) => r.msgType), records: h.records }).toEqual({ a, b, rows: a === b ? [] : [1], records: a === b ? 0 : 1 });
      }
      expect((await store.after("alice", "0", 10)).map((r) => [r.msgType, r.refId])).toEqual([[1, undefined], [EventType.EDIT, m.msgId]]);
      expect((await store.after("bob", "0", 10)).map((r) => [r.msgType, r.refId])).toEqual([[1, undefined], [EventType.EDIT, m.msgId], [EventType.DELETE, m.msgId]]);
    });

    test("a message deleted for one user leaves that user's history of the pair, the group or the broadcasts, not the others'", async () => {
      const [one, two] = [msg("alice", "bob"), msg("bob", "alice")];
      const inGroup = msg("carol", "group:5");
      const broadcast = msg("system", "*");
      for (const m of [one, two, inGroup, broadcast]) await store.save(m);
      for (const m of [two, inGroup, broadcast]) expect(await store.hide("bob", m.msgId)).toBe(true);
      expect(await store.hide("bob", two.msgId)).toBe(false); // idempotent
      expect(await texts("bob", "alice")).toEqual([one.msg]);
      expect((await store.history("bob", "alice", 1, 20)).records).toBe(1);
      expect(await texts("alice", "bob")).toEqual([one.msg, two.msg]);
      expect(await texts("bob", "group:5")).toEqual([]);
      expect(await texts("carol", "group:5")).toEqual([inGroup.msg]);
      expect(await texts("bob", "system")).toEqual([]);
      expect(await texts("alice", "system")).toEqual([broadcast.msg]);
    });

    test("the conversation list shows each conversation's newest message shown in history, and leaves out one with none", async () => {
      const [older, newest] = [msg("alice", "bob", { msg: "older" }), msg("bob", "alice", { msg: "newest" })];
      const gone = msg("dave", "alice", { msg: "only one" });
      const mine = msg("alice", "group:6", { msg: "group" });
      for (const m of [older, newest, gone, mine]) await store.save(m);
      await store.save(event(EventType.EDIT, "alice", older, "older!"));
      await store.applyEdit({ msgId: older.msgId, eventId: ids.next(), msg: "older!" });
      await store.save(event(EventType.DELETE, "alice", newest));
      await store.hide("alice", newest.msgId);
      await store.hide("alice", gone.msgId);
      await store.save(event(EventType.RECALL, "alice", mine));
      await store.applyEdit({ msgId: mine.msgId, eventId: ids.next(), recall: true });
      const list = await store.conversations("alice", ["group:6"], 1, 20);
      expect(list.rows.map((r) => [r.conversationId, r.last.msg, r.last.recalled ?? r.last.edited ?? false])).toEqual([
        ["group:6", "", true],
        ["bob", "older!", true],
      ]);
      // dave's (only a hidden message) and alice's own (only a delete event) are left out of the count.
      expect(list.records).toBe(2);
      const bobs = await store.conversations("bob", [], 1, 20);
      expect(bobs.rows.map((r) => r.last.msg)).toEqual(["newest"]);
    });
  });
}

suite("SQLite", () => createSqlStore({ url: "sqlite::memory:", log: silentLogger }));

let admin: SQL | undefined;
suite("PostgreSQL", () => createSqlStore({ url: PG, log: silentLogger }), async () => {
  admin ??= new SQL(PG, { max: 1 });
  await admin.unsafe("DROP TABLE IF EXISTS chat_message");
  await admin.unsafe("DROP TABLE IF EXISTS chat_message_hidden");
});
afterAll(() => admin?.close());
