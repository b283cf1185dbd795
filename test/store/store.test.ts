// The message store (lib/adapters/sql/store.ts): one behavioural suite, run against SQLite and a real PostgreSQL.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { createSnowflake } from "../../lib/protocol/snowflake.ts";
import { createSqlStore, type SqlStore } from "../../lib/adapters/sql/store.ts";
import { isDataFault } from "../../lib/adapters/sql/writer.ts";
import { StoreRefusedError, type SaveResult, type StoredMsg } from "../../lib/core/ports.ts";
import { PG } from "../support/services.ts";

/** How one suite reaches a database: a URL for the store, and a raw connection to inspect it. */
interface Backend {
  name: string;
  /** Called once before the suite; throws a message a person can act on when the database is not there. */
  setUp(): Promise<void>;
  /** An empty database (no chat_message table); returns the store URL. */
  fresh(): Promise<string>;
  /** A raw connection to the database of the last fresh() URL. */
  raw(): SQL;
  columns(sql: SQL): Promise<Map<string, string>>;
  tearDown(): Promise<void>;
  /** Rows this database itself refuses (the edge keeps them out; the store must still fail them alone). */
  poisons: Array<[string, Partial<StoredMsg>]>;
}

const ids = createSnowflake(77);
let seq = 0;
/** A chat message with a real snowflake id; `over` overrides any field. */
function msg(senderId: string, receiverId: string, over: Partial<StoredMsg> = {}): StoredMsg {
  return { msgId: ids.next(), senderId, receiverId, msgType: 1, msg: `m${++seq}`, chatTime: "2024-01-05 03:04:09", ...over };
}

async function count(sql: SQL, where = "1 = 1"): Promise<number> {
  const [{ n }] = await sql.unsafe(`SELECT COUNT(*) AS n FROM chat_message WHERE ${where}`);
  return Number(n);
}

/** The seed lineage's table: no client_msg_id, msg limited to 255 characters. */
const SEED_TABLE = `CREATE TABLE chat_message (
  id BIGINT PRIMARY KEY, sender_id VARCHAR(64) NOT NULL, receiver_id VARCHAR(64) NOT NULL,
  receiver_type INTEGER, msg VARCHAR(255), msg_type INTEGER NOT NULL, chat_time VARCHAR(19) NOT NULL,
  show_msg_date_time_flag SMALLINT, video_path VARCHAR(255), video_width INTEGER, video_height INTEGER,
  video_times INTEGER, voice_path VARCHAR(255), speak_voice_duration INTEGER, is_read SMALLINT)`;

function storeSuite(backend: Backend): void {
  describe(`message store on ${backend.name}`, () => {
    let url = "";
    let store: SqlStore;
    let raw: SQL;
    const open = () => createSqlStore({ url, log: silentLogger });

    beforeAll(() => backend.setUp());
    afterAll(() => backend.tearDown());
    beforeEach(async () => {
      url = await backend.fresh();
      raw = backend.raw();
      store = await open();
    });
    afterEach(async () => {
      await store.close().catch(() => {});
      await raw.close();
    });

    test("opening the store creates the chat_message table with every column", async () => {
      const cols = await backend.columns(raw);
      for (const c of ["id", "sender_id", "receiver_id", "receiver_type", "msg", "msg_type", "chat_time", "is_read", "client_msg_id", "video_path", "voice_path"]) {
        expect(cols.has(c)).toBe(true);
      }
    });

    test("opening the store twice on the same database is harmless", async () => {
      const second = await open();
      await second.close();
      const m = msg("a", "b");
      expect((await store.save(m)).msgId).toBe(m.msgId);
    });

    test("a seed-lineage table is migrated on start: client_msg_id added, old rows readable, long messages saved", async () => {
      await store.close();
      await raw.unsafe("DROP TABLE chat_message");
      await raw.unsafe(SEED_TABLE);
      const oldId = "123456789012345678"; // older than any snowflake made now
      await raw.unsafe(
        `INSERT INTO chat_message (id, sender_id, receiver_id, receiver_type, msg, msg_type, chat_time, is_read)
         VALUES (${oldId}, 'old-a', 'old-b', 1, 'from the seed', 1, '2019-05-01 10:00:00', 1)`,
      );
      expect((await backend.columns(raw)).has("client_msg_id")).toBe(false);

      store = await open();
      expect((await backend.columns(raw)).has("client_msg_id")).toBe(true);
      const old = await store.get(oldId);
      expect(old).toMatchObject({ msgId: oldId, senderId: "old-a", receiverId: "old-b", msg: "from the seed", msgType: 1, chatTime: "2019-05-01 10:00:00", isRead: true });
      expect(old!.clientMsgId).toBeUndefined();

      // The edge allows MAX_PATH_CHARS in videoPath / voicePath: the seed's VARCHAR(255) is widened too.
      const long = msg("old-a", "old-b", { msg: "x".repeat(10_000), clientMsgId: "long-1", videoPath: "v".repeat(2048), voicePath: "a".repeat(2048) });
      expect(await store.save(long)).toEqual({ msgId: long.msgId, chatTime: long.chatTime, duplicate: false, seq: { "old-b": 1, "old-a": 1 } });
      expect((await store.get(long.msgId))!).toMatchObject({ msg: long.msg, videoPath: long.videoPath, voicePath: long.voicePath });
      const page = await store.history("old-a", "old-b", 1, 10);
      expect(page.records).toBe(2);
      expect(page.rows.map((r) => r.msgId)).toEqual([oldId, long.msgId]);
    });

    test("save resolves with the msgId, the chatTime, duplicate=false and its positions in the receiver's and the sender's timelines", async () => {
      const m = msg("a", "b", { clientMsgId: "c1" });
      expect(await store.save(m)).toEqual({ msgId: m.msgId, chatTime: m.chatTime, duplicate: false, seq: { b: 1, a: 1 } });
    });

    test("a saved message reads back with every field it was given", async () => {
      const m = msg("a", "b", {
        msgType: 4,
        msg: "https://example.com/cover.jpg",
        showMsgDateTimeFlag: 1,
        videoPath: "/v.mp4",
        videoWidth: 640,
        videoHeight: 480,
        videoTimes: 12,
        voicePath: "/a.mp3",
        speakVoiceDuration: 3,
        communicationType: 1,
        clientMsgId: "c-full",
        isRead: false,
      });
      const { seq } = await store.save(m);
      expect(await store.get(m.msgId)).toEqual({ ...m, seq });
      expect((await store.history("a", "b", 1, 10)).rows).toEqual([m]); // pages of history carry no positions
    });

    test("text with quotes, backslashes, emoji and NUL-free unicode round-trips exactly", async () => {
      const text = `it's "quoted" \\ back\\slash; DROP TABLE chat_message; -- 你好 😀 \u2028`;
      const m = msg("a", "b", { msg: text });
      await store.save(m);
      expect((await store.get(m.msgId))!.msg).toBe(text);
    });

    test("saving the same (senderId, clientMsgId) again returns the first msgId with duplicate=true and stores one row", async () => {
      const first = msg("a", "b", { clientMsgId: "dup-1", chatTime: "2024-01-05 03:04:09" });
      const again = msg("a", "b", { clientMsgId: "dup-1", chatTime: "2024-01-05 03:04:15" });
      expect(await store.save(first)).toEqual({ msgId: first.msgId, chatTime: first.chatTime, duplicate: false, seq: { b: 1, a: 1 } });
      expect(await store.save(again)).toEqual({ msgId: first.msgId, chatTime: first.chatTime, duplicate: true, seq: { b: 1, a: 1 } });
      // The duplicate took no position: the next message has the next ones.
      expect((await store.save(msg("a", "b", { clientMsgId: "dup-2" }))).seq).toEqual({ b: 2, a: 2 });
      expect(await count(raw, "client_msg_id = 'dup-1'")).toBe(1);
      expect(await store.get(again.msgId)).toBeUndefined();
    });

    test("a duplicate is recognised after the store is closed and opened again", async () => {
      const first = msg("a", "b", { clientMsgId: "dup-restart" });
      await store.save(first);
      await store.close();
      store = await open();
      const r = await store.save(msg("a", "b", { clientMsgId: "dup-restart" }));
      expect(r).toEqual({ msgId: first.msgId, chatTime: first.chatTime, duplicate: true, seq: { b: 1, a: 1 } });
    });

    test("the same clientMsgId from a different sender is not a duplicate", async () => {
      const fromA = msg("a", "b", { clientMsgId: "same" });
      const fromB = msg("b", "a", { clientMsgId: "same" });
      expect((await store.save(fromA)).duplicate).toBe(false);
      expect(await store.save(fromB)).toEqual({ msgId: fromB.msgId, chatTime: fromB.chatTime, duplicate: false, seq: { a: 2, b: 2 } });
      expect(await count(raw, "client_msg_id = 'same'")).toBe(2);
    });

    test("messages without clientMsgId never conflict with each other", async () => {
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await store.save(msg("a", "b")));
      results.push(...(await Promise.all([1, 2, 3].map(() => store.save(msg("a", "b"))))));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      expect(new Set(results.map((r) => r.msgId)).size).toBe(8);
      expect(await count(raw, "client_msg_id IS NULL")).toBe(8);
    });

    test("1,000 concurrent saves all resolve and are all stored", async () => {
      const batch = Array.from({ length: 1000 }, (_, i) => msg(`s${i % 7}`, `r${i % 5}`, { clientMsgId: i % 2 ? `bulk-${i}` : undefined }));
      const results = await Promise.all(batch.map((m) => store.save(m)));
      expect(results.map((r) => r.msgId)).toEqual(batch.map((m) => m.msgId));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      expect(await count(raw)).toBe(1000);
    });

    test("concurrent duplicates within one batch resolve to one stored message", async () => {
      const blocker = store.save(msg("x", "y")); // holds the writer so the copies below gather in one batch
      const copies = Array.from({ length: 10 }, () => msg("a", "b", { clientMsgId: "burst" }));
      const results = await Promise.all(copies.map((m) => store.save(m)));
      await blocker;
      const winners = new Set(results.map((r) => r.msgId));
      expect(winners.size).toBe(1);
      const [winner] = winners;
      expect(copies.map((m) => m.msgId)).toContain(winner);
      expect(results.filter((r) => !r.duplicate).length).toBe(1);
      expect(results.find((r) => !r.duplicate)!.msgId).toBe(winner);
      expect(await count(raw, "client_msg_id = 'burst'")).toBe(1);
    });

    test("two stores writing the same timelines at once (two instances): every timeline's positions are 1..n, none twice, none missing", async () => {
      const other = await open();
      try {
        const saves = Array.from({ length: 120 }, (_, i) =>
          (i % 2 ? store : other).save(msg(`s${i % 3}`, i % 5 === 0 ? "group:9" : `r${i % 4}`, { clientMsgId: `p${i}`, communicationType: i % 5 === 0 ? 2 : 1 })),
        );
        // A resend of some of them on the other store: stored once, with the first positions.
        const results = await Promise.all(saves);
        const again = await Promise.all(results.slice(0, 10).map((r, i) => (i % 2 ? other : store).save(msg(`s${i % 3}`, i % 5 === 0 ? "group:9" : `r${i % 4}`, { clientMsgId: `p${i}` }))));
        expect(again.map((r) => [r.msgId, r.duplicate, r.seq])).toEqual(results.slice(0, 10).map((r) => [r.msgId, true, r.seq]));
        const byTimeline = new Map<string, number[]>();
        for (const r of results) for (const [t, n] of Object.entries(r.seq!)) byTimeline.set(t, [...(byTimeline.get(t) ?? []), n]);
        for (const [t, got] of byTimeline) {
          got.sort((x, y) => x - y);
          expect({ t, got }).toEqual({ t, got: Array.from({ length: got.length }, (_, i) => i + 1) });
        }
        expect(await store.tops([...byTimeline.keys(), "nobody"])).toEqual({ ...Object.fromEntries([...byTimeline].map(([t, got]) => [t, got.length])), nobody: 0 });
      } finally {
        await other.close();
      }
    });

    for (const [what, poison] of backend.poisons) {
      test(`a row the store refuses (${what}) fails alone: every other row of its batch is stored`, async () => {
        const blocker = store.save(msg("x", "y")); // holds the writer so the saves below gather in one batch
        const good = Array.from({ length: 40 }, (_, i) => msg(`good${i % 4}`, "bystander", { clientMsgId: `g${i}` }));
        const bad = [5, 17, 33].map((i) => ({ at: i, m: msg("attacker", "bystander", { clientMsgId: `p${i}`, ...poison }) }));
        const rows = [...good];
        for (const { at, m } of bad) rows.splice(at, 0, m);
        const settled = await Promise.allSettled(rows.map((m) => store.save(m)));
        await blocker;
        const outcome = new Map(rows.map((m, i) => [m.msgId, settled[i]]));
        for (const m of good) expect(outcome.get(m.msgId)).toMatchObject({ status: "fulfilled", value: { msgId: m.msgId, chatTime: m.chatTime, duplicate: false } });
        // The refused rows took no position: the bystander's timeline holds the 40 good ones, 1 to 40, none missing.
        const got = good.map((m) => ((outcome.get(m.msgId) as PromiseFulfilledResult<SaveResult>).value.seq!.bystander));
        expect(got.toSorted((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        for (const { m } of bad) {
          const r = outcome.get(m.msgId)!;
          expect(r.status).toBe("rejected");
          const err = (r as PromiseRejectedResult).reason;
          expect(err).toBeInstanceOf(StoreRefusedError);
          expect(err.message).toStartWith("the store cannot hold this message:");
        }
        expect(await count(raw, "receiver_id = 'bystander' AND sender_id <> 'attacker'")).toBe(good.length);
        expect(await count(raw, "sender_id = 'attacker'")).toBe(0);
        for (const m of good.slice(0, 3)) expect((await store.get(m.msgId))!.msg).toBe(m.msg);
      });
    }

    describe("history", () => {
      // a<->b alternate directions: 7 messages; plus traffic with others that must be excluded.
      async function seedConversation(): Promise<StoredMsg[]> {
        const convo: StoredMsg[] = [];
        for (let i = 0; i < 7; i++) {
          const m = i % 2 ? msg("b", "a") : msg("a", "b");
          convo.push(m);
          await store.save(m);
          await store.save(msg("a", "c"));
          await store.save(msg("c", "b"));
          await store.save(msg("b", "b"));
        }
        return convo;
      }
      const idsOf = (rows: StoredMsg[]) => rows.map((r) => r.msgId);

      test("page 1 holds the newest messages of both directions, oldest first within the page", async () => {
        const convo = await seedConversation();
        const page1 = await store.history("a", "b", 1, 3);
        expect(page1.records).toBe(7);
        expect(idsOf(page1.rows)).toEqual(idsOf(convo.slice(4, 7)));
      });

      test("later pages go back in time and the last one is partial", async () => {
        const convo = await seedConversation();
        expect(idsOf((await store.history("a", "b", 2, 3)).rows)).toEqual(idsOf(convo.slice(1, 4)));
        expect(idsOf((await store.history("a", "b", 3, 3)).rows)).toEqual(idsOf(convo.slice(0, 1)));
      });

      test("the order of the two users does not matter", async () => {
        await seedConversation();
        expect(await store.history("b", "a", 2, 3)).toEqual(await store.history("a", "b", 2, 3));
      });

      test("a page beyond the end is empty but still counts every record", async () => {
        await seedConversation();
        expect(await store.history("a", "b", 4, 3)).toEqual({ records: 7, rows: [] });
        expect(await store.history("a", "b", 100, 20)).toEqual({ records: 7, rows: [] });
      });

      test("other conversations are excluded", async () => {
        const convo = await seedConversation();
        const all = await store.history("a", "b", 1, 100);
        expect(idsOf(all.rows)).toEqual(idsOf(convo));
        expect(all.rows.every((r) => (r.senderId === "a" && r.receiverId === "b") || (r.senderId === "b" && r.receiverId === "a"))).toBe(true);
      });

      test("two users who never talked have no history", async () => {
        await seedConversation();
        expect(await store.history("a", "nobody", 1, 20)).toEqual({ records: 0, rows: [] });
      });

      test("a conversation with oneself lists each message once", async () => {
        await seedConversation();
        const self = await store.history("b", "b", 1, 100);
        expect(self.records).toBe(7);
        expect(new Set(idsOf(self.rows)).size).toBe(7);
      });
    });

    describe("after", () => {
      test("returns messages to or from the user with larger ids, oldest first", async () => {
        const before = msg("u", "v");
        await store.save(before);
        const later = [msg("u", "v"), msg("v", "u"), msg("w", "u"), msg("u", "w")];
        const others = [msg("v", "w"), msg("w", "v")];
        for (const m of [later[0], others[0], later[1], later[2], others[1], later[3]]) await store.save(m);
        const got = await store.after("u", before.msgId, 100);
        expect(got.map((m) => m.msgId)).toEqual(later.map((m) => m.msgId));
      });

      test("excludes the given id itself", async () => {
        const m = msg("u", "v");
        await store.save(m);
        expect(await store.after("u", m.msgId, 10)).toEqual([]);
        expect((await store.after("v", "0", 10)).map((r) => r.msgId)).toEqual([m.msgId]);
      });

      test("respects the limit, keeping the oldest", async () => {
        const sent = [];
        for (let i = 0; i < 10; i++) {
          const m = msg(i % 2 ? "u" : "v", i % 2 ? "v" : "u");
          sent.push(m);
          await store.save(m);
        }
        const got = await store.after("u", "0", 4);
        expect(got.map((m) => m.msgId)).toEqual(sent.slice(0, 4).map((m) => m.msgId));
      });

      test("a message to oneself appears once", async () => {
        const self = msg("u", "u");
        await store.save(self);
        await store.save(msg("v", "u"));
        const got = await store.after("u", "0", 10);
        expect(got.filter((m) => m.msgId === self.msgId).length).toBe(1);
        expect(got.length).toBe(2);
      });
    });

    describe("ids", () => {
      test("ids above 2^53 round-trip exactly as strings, even neighbours one apart", async () => {
        const base = BigInt(ids.next());
        expect(base).toBeGreaterThan(2n ** 53n);
        const neighbours = [base, base + 1n, base + 2n].map(String);
        for (const id of neighbours) await store.save(msg("p", "q", { msgId: id }));
        for (const id of neighbours) expect((await store.get(id))!.msgId).toBe(id);
        expect((await store.after("p", neighbours[0], 10)).map((m) => m.msgId)).toEqual(neighbours.slice(1));
        expect((await store.history("p", "q", 1, 10)).rows.map((m) => m.msgId)).toEqual(neighbours);
      });

      test("ordering is numeric across ids of different decimal lengths", async () => {
        const big = ids.next();
        const saved = ["100", "9", big, "10", "99999999999999"];
        for (const id of saved) await store.save(msg("p", "q", { msgId: id }));
        const numeric = ["9", "10", "100", "99999999999999", big];
        expect((await store.after("p", "0", 10)).map((m) => m.msgId)).toEqual(numeric);
        expect((await store.after("q", "9", 10)).map((m) => m.msgId)).toEqual(numeric.slice(1));
        expect((await store.history("p", "q", 1, 10)).rows.map((m) => m.msgId)).toEqual(numeric);
        expect((await store.history("p", "q", 1, 2)).rows.map((m) => m.msgId)).toEqual(numeric.slice(3));
      });
    });

    test("get returns a stored message and undefined for an unknown id", async () => {
      const m = msg("a", "b");
      await store.save(m);
      expect((await store.get(m.msgId))!.msgId).toBe(m.msgId);
      expect(await store.get("12345")).toBeUndefined();
    });

    test("markRead returns true and the message then reads back as isRead", async () => {
      const m = msg("a", "b");
      await store.save(m);
      expect((await store.get(m.msgId))!.isRead).toBe(false);
      expect(await store.markRead(m.msgId)).toBe(true);
      expect((await store.get(m.msgId))!.isRead).toBe(true);
      expect(await store.markRead(m.msgId)).toBe(true); // idempotent
    });

    test("an id beyond the 64-bit range (20 digits) names no message instead of failing", async () => {
      const m = msg("u", "v");
      await store.save(m);
      const huge = "99999999999999999999";
      expect(await store.get(huge)).toBeUndefined();
      expect(await store.markRead(huge)).toBe(false);
      expect(await store.after("u", huge, 10)).toEqual([]);
      expect(await store.get("9223372036854775808")).toBeUndefined(); // 2^63, one past the largest BIGINT
    });

    test("the largest 64-bit id is stored and found", async () => {
      const max = "9223372036854775807";
      await store.save(msg("u", "v", { msgId: max }));
      expect((await store.get(max))!.msgId).toBe(max);
      expect(await store.markRead(max)).toBe(true);
    });

    test("markRead of an unknown id returns false and changes nothing", async () => {
      const m = msg("a", "b");
      await store.save(m);
      expect(await store.markRead("12345")).toBe(false);
      expect((await store.get(m.msgId))!.isRead).toBe(false);
    });

    test("health is ok while open", async () => {
      expect(await store.health()).toBe("ok");
    });

    test("after close, save rejects", async () => {
      await store.close();
      await expect(store.save(msg("a", "b"))).rejects.toThrow(/closed/);
    });

    test("close waits for pending writes: 100 saves started just before close are all stored", async () => {
      const pending = Array.from({ length: 100 }, () => store.save(msg("cw-a", "cw-b")));
      await store.close();
      const results = await Promise.all(pending);
      expect(results.every((r) => !r.duplicate)).toBe(true);
      store = await open();
      expect((await store.history("cw-a", "cw-b", 1, 1)).records).toBe(100);
    });
  });
}

// ---- SQLite: a temp file per test --------------------------------------------------------------

const tmpRoot = mkdtempSync(join(tmpdir(), "im-store-test-"));
let sqliteFile = "";
let sqliteN = 0;

storeSuite({
  name: "SQLite",
  async setUp() {},
  async fresh() {
    sqliteFile = join(tmpRoot, `chat-${++sqliteN}.db`);
    return `sqlite://${sqliteFile}`;
  },
  raw: () => new SQL({ adapter: "sqlite", filename: sqliteFile }),
  async columns(sql) {
    const rows: Array<{ name: string; type: string }> = await sql.unsafe("SELECT name, type FROM pragma_table_info('chat_message')");
    return new Map(rows.map((r) => [r.name, r.type.toLowerCase()]));
  },
  async tearDown() {},
  poisons: [["msg_type NULL: a NOT NULL constraint", { msgType: null as unknown as number }]],
});

describe("SQLite URLs", () => {
  afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

  test("sqlite:///absolute/path.db creates missing directories and the file there", async () => {
    const file = join(tmpRoot, "abs", "nested", "chat.db");
    const store = await createSqlStore({ url: `sqlite://${file}`, log: silentLogger });
    await store.save(msg("a", "b"));
    await store.close();
    expect(existsSync(file)).toBe(true);
  });

  test("a relative sqlite://some/dir/x.db is resolved against the working directory and its directory created", async () => {
    const cwd = process.cwd();
    const work = join(tmpRoot, "rel");
    mkdirSync(work);
    process.chdir(work);
    try {
      const store = await createSqlStore({ url: "sqlite://some/dir/x.db", log: silentLogger });
      await store.save(msg("a", "b"));
      await store.close();
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(work, "some", "dir", "x.db"))).toBe(true);
  });

  test("sqlite::memory: works for throwaway stores", async () => {
    const store = await createSqlStore({ url: "sqlite::memory:", log: silentLogger });
    const m = msg("a", "b");
    await store.save(m);
    expect((await store.get(m.msgId))!.msgId).toBe(m.msgId);
    await store.close();
  });
});

// ---- PostgreSQL: must be running; the table is dropped before each test ------------------------

const pgUrl = PG;
const pgShown = pgUrl.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
let pgAdmin: SQL | undefined;

storeSuite({
  name: "PostgreSQL",
  async setUp() {
    const sql = new SQL(pgUrl, { max: 1, connectionTimeout: 5 });
    try {
      await Promise.race([sql`SELECT 1`, Bun.sleep(5000).then(() => Promise.reject(new Error("no answer within 5 s")))]);
    } catch (err) {
      await sql.close().catch(() => {});
      throw new Error(
        `PostgreSQL is not reachable at ${pgShown} (${(err as Error).message}). ` +
          `To start it: run scripts/services.sh postgres (or point TEST_DATABASE_URL at another server).`,
      );
    }
    pgAdmin = sql;
  },
  async fresh() {
    await pgAdmin!.unsafe("DROP TABLE IF EXISTS chat_message");
    await pgAdmin!.unsafe("DROP TABLE IF EXISTS im_seq");
    return pgUrl;
  },
  raw: () => new SQL(pgUrl, { max: 2 }),
  async columns(sql) {
    const rows: Array<{ name: string; type: string }> = await sql`
      SELECT column_name AS name, data_type AS type FROM information_schema.columns
      WHERE table_name = 'chat_message' AND table_schema = current_schema()`;
    return new Map(rows.map((r) => [r.name, r.type]));
  },
  async tearDown() {
    await pgAdmin?.close();
  },
  poisons: [
    ["a NUL in msg", { msg: "poison\u0000N" }],
    ["videoWidth beyond int4", { msgType: 4, videoWidth: 2147483648 }],
    ["msg_type NULL: a NOT NULL constraint", { msgType: null as unknown as number }],
  ],
});

describe("what counts as the data's fault", () => {
  test("PostgreSQL's data and constraint errors do; a refused connection does not", async () => {
    const sql = new SQL(pgUrl, { max: 1 });
    const errorOf = (q: Promise<unknown>) => q.then(() => undefined, (e) => e);
    await sql`CREATE TEMP TABLE fault_probe (a TEXT, b INT4 NOT NULL)`;
    expect(isDataFault(await errorOf(sql`INSERT INTO fault_probe VALUES (${"a\u0000"}, 1)`))).toBe(true);
    expect(isDataFault(await errorOf(sql`INSERT INTO fault_probe VALUES ('a', ${2147483648})`))).toBe(true);
    expect(isDataFault(await errorOf(sql`INSERT INTO fault_probe VALUES ('a', NULL)`))).toBe(true);
    expect(isDataFault(await errorOf(sql`SELECT * FROM no_such_table`))).toBe(false);
    await sql.close();
    const down = new SQL("postgres://im:im@127.0.0.1:1/im_test", { max: 1, connectionTimeout: 2 });
    const refused = await errorOf(down`SELECT 1`);
    expect(refused).toBeDefined();
    expect(isDataFault(refused)).toBe(false);
  });
});
