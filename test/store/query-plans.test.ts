// Every read of chat_message is served by an index, on SQLite and on PostgreSQL: each index costs a
// page write per stored row, so the schema keeps only those the queries use (lib/adapters/sql/schema.ts),
// and this asks each database for its plan of every query (lib/adapters/sql/queries.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { migrate } from "../../lib/adapters/sql/schema.ts";
import { afterQuery, byIdsQuery, conversationQueries, firstOfQuery, getQuery, groupSendersQuery, groupUnreadQuery, historyQueries, markReadQuery, type Query } from "../../lib/adapters/sql/queries.ts";
import { PG } from "../support/services.ts";

const queries: Record<string, Query> = {
  "history of a pair (count)": historyQueries("alice", "bob", 1, 20).count,
  "history of a pair (page)": historyQueries("alice", "bob", 3, 20).page,
  "history of a group (count)": historyQueries("alice", "group:7", 1, 20).count,
  "history of a group (page)": historyQueries("alice", "group:7", 1, 20).page,
  "broadcasts (page)": historyQueries("alice", "system", 1, 20).page,
  "replay after a msgId": afterQuery("alice", "123456789", 100),
  "replay with groups and broadcasts": afterQuery("alice", "123456789", 100, ["group:7", "*"]),
  "a message by id": getQuery("123456789"),
  "the first message of a resend": firstOfQuery("alice", "c-1"),
  "mark read": markReadQuery("123456789"),
  "conversations (page)": conversationQueries("alice", ["group:7", "group:8"], 2, 20).page,
  "conversations (count)": conversationQueries("alice", [], 1, 20).count,
  "messages by id (a conversation page's newest)": byIdsQuery(["123", "456"]),
  "a member's unread in a group after its read position": groupUnreadQuery("group:7", "bob", "123456789", 10_000),
  "the senders a group read receipt goes to": groupSendersQuery("group:7", "123", "123456789", 500),
};

/** Every index the schema creates, by name, and the indexes the plans used. */
const used = new Set<string>();

describe("query plans on SQLite", () => {
  const sql = new SQL({ adapter: "sqlite", filename: ":memory:" });
  afterAll(() => sql.close());

  for (const [name, [text, params]] of Object.entries(queries)) {
    test(`${name}: searched through an index, never a full scan`, async () => {
      await migrate(sql, "sqlite");
      // Numbered parameters become literals: EXPLAIN QUERY PLAN plans the statement as the store runs it.
      const plan: Array<{ detail: string }> = await sql.unsafe(`EXPLAIN QUERY PLAN ${text}`, params);
      const lines = plan.map((r) => r.detail);
      for (const line of lines) {
        expect(line).not.toMatch(/^SCAN chat_message\b/); // a full scan, of the table or of a whole index
        const index = /USING (?:COVERING )?INDEX (\w+)|USING (PRIMARY KEY|INTEGER PRIMARY KEY)/.exec(line);
        if (index) used.add(index[1] ?? "primary key");
      }
      expect(lines.some((l) => /^SEARCH chat_message USING/.test(l))).toBe(true);
    });
  }

  test("every index the schema creates serves at least one query", async () => {
    const indexes: Array<{ name: string }> = await sql.unsafe("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'chat_message' AND name LIKE '%chat_message%' AND name NOT LIKE 'sqlite_autoindex%'");
    // ux_chat_message_client serves the dedupe on insert (ON CONFLICT) and the resend's first message.
    for (const { name } of indexes) expect({ name, used: used.has(name) || name === "ux_chat_message_client" }).toEqual({ name, used: true });
  });
});

describe("query plans on PostgreSQL", () => {
  const sql = new SQL(PG, { max: 1 });
  afterAll(() => sql.close());

  for (const [name, [text, params]] of Object.entries(queries)) {
    test(`${name}: no sequential scan of chat_message where an index can serve`, async () => {
      await migrate(sql, "postgres");
      // A small test table would be scanned whatever the indexes; with scans made dear the plan shows
      // whether an index can answer at all.
      const plan = await sql.begin(async (tx) => {
        await tx.unsafe("SET LOCAL enable_seqscan = off");
        return (await tx.unsafe(`EXPLAIN ${text}`, params)) as Array<{ "QUERY PLAN": string }>;
      });
      const lines = plan.map((r) => r["QUERY PLAN"]);
      expect(lines.join("\n")).not.toContain("Seq Scan on chat_message");
      expect(lines.join("\n")).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
    });
  }
});
