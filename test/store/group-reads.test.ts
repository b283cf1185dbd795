// Group members' read positions (lib/adapters/sql/group-reads.ts) on SQLite and a real PostgreSQL:
// a position only moves forward (numerically, racing writers included), and the reads of
// chat_message a read needs (a member's unread after its position, the senders a receipt goes to).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { createSqlGroups, type SqlGroups } from "../../lib/adapters/sql/groups.ts";
import { migrate, type Dialect } from "../../lib/adapters/sql/schema.ts";
import { PG } from "../support/services.ts";

function suite(name: string, dialect: Dialect, open: () => Promise<{ sql: SQL; close(): Promise<void> }>): void {
  describe(`group read positions on ${name}`, () => {
    let db: { sql: SQL; close(): Promise<void> };
    let groups: SqlGroups;
    let n = 0;
    /** A group id of its own per test: nothing to clean between tests. */
    const newGroup = () => `group:${process.pid}${++n}`;
    /** Stores messages to `groupId` with the given ids and senders. */
    const put = async (groupId: string, rows: Array<[id: string, senderId: string]>) => {
      for (const [id, senderId] of rows) {
        await db.sql`INSERT INTO chat_message (id, sender_id, receiver_id, receiver_type, msg_type, chat_time) VALUES (${id}, ${senderId}, ${groupId}, 2, 1, '2026-01-01 00:00:00')`;
      }
    };

    beforeAll(async () => {
      db = await open();
      await migrate(db.sql, dialect);
      groups = await createSqlGroups(db.sql);
    });
    afterAll(() => db?.close());

    test("a position is created, moves forward, and never back; the previous one is reported", async () => {
      const g = newGroup();
      expect(await groups.advance(g, "bob", "500")).toEqual({ moved: true, previous: undefined });
      expect(await groups.advance(g, "bob", "700")).toEqual({ moved: true, previous: "500" });
      expect(await groups.advance(g, "bob", "600")).toEqual({ moved: false, previous: "700" });
      expect(await groups.advance(g, "bob", "700")).toEqual({ moved: false, previous: "700" });
      expect(await groups.advance(g, "carol", "600")).toEqual({ moved: true, previous: undefined });
      expect(await groups.positions(g)).toEqual(new Map([["bob", "700"], ["carol", "600"]]));
      expect(await groups.positions(newGroup())).toEqual(new Map());
    });

    test("a member removed from the group loses its position", async () => {
      const g = newGroup();
      await groups.create({ groupId: g, name: "g", ownerId: "alice" }, ["bob", "carol"]);
      await groups.advance(g, "bob", "500");
      await groups.advance(g, "carol", "500");
      await groups.removeMembers(g, ["bob"]);
      expect([...(await groups.positions(g)).keys()]).toEqual(["carol"]);
    });

    test("positions compare as numbers, up to the largest 64-bit id", async () => {
      const g = newGroup();
      await groups.advance(g, "bob", "999");
      expect((await groups.advance(g, "bob", "1000")).moved).toBe(true); // "1000" < "999" as text
      expect((await groups.advance(g, "bob", "9007199254740993")).moved).toBe(true); // past 2^53
      expect((await groups.advance(g, "bob", "9007199254740992")).moved).toBe(false);
      expect((await groups.advance(g, "bob", "9223372036854775807")).moved).toBe(true);
      expect((await groups.positions(g)).get("bob")).toBe("9223372036854775807");
    });

    test("racing advances of one member end at the largest", async () => {
      const g = newGroup();
      const ids = Array.from({ length: 30 }, (_, i) => String(1_000_000 + ((i * 7919) % 30)));
      await Promise.all(ids.map((id) => groups.advance(g, "bob", id)));
      expect((await groups.positions(g)).get("bob")).toBe("1000029");
    });

    test("unread after a position counts the others' messages of that group, up to the cap", async () => {
      const g = newGroup();
      await put(g, [["101", "alice"], ["102", "bob"], ["103", "carol"], ["104", "alice"]]);
      await put(newGroup(), [["105", "alice"]]);
      expect(await groups.unreadAfter(g, "bob", undefined, 100)).toBe(3);
      expect(await groups.unreadAfter(g, "bob", "101", 100)).toBe(2);
      expect(await groups.unreadAfter(g, "alice", "101", 100)).toBe(2);
      expect(await groups.unreadAfter(g, "bob", "104", 100)).toBe(0);
      expect(await groups.unreadAfter(g, "bob", undefined, 2)).toBe(2);
    });

    test("the senders between two positions, distinct, among the newest messages only", async () => {
      const g = newGroup();
      await put(g, [["201", "alice"], ["202", "carol"], ["203", "alice"], ["204", "dave"], ["205", "erin"]]);
      expect((await groups.sendersBetween(g, "201", "204", 100)).sort()).toEqual(["alice", "carol", "dave"]);
      expect((await groups.sendersBetween(g, undefined, "202", 100)).sort()).toEqual(["alice", "carol"]);
      expect((await groups.sendersBetween(g, "200", "205", 2)).sort()).toEqual(["dave", "erin"]);
      expect(await groups.sendersBetween(g, "205", "205", 100)).toEqual([]);
    });
  });
}

suite("SQLite", "sqlite", async () => {
  const sql = new SQL({ adapter: "sqlite", filename: ":memory:" });
  return { sql, close: () => sql.close() };
});

// PostgreSQL: a schema of its own (one connection, so the search_path holds), dropped at the end.
suite("PostgreSQL", "postgres", async () => {
  const sql = new SQL(PG, { max: 1 });
  const schema = `reads_test_${process.pid}`;
  await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await sql.unsafe(`SET search_path TO ${schema}`);
  return {
    sql,
    async close() {
      await sql.unsafe(`DROP SCHEMA ${schema} CASCADE`);
      await sql.close();
    },
  };
});
