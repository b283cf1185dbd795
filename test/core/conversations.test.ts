// The conversation list on the core's in-memory store: 1:1 and groups, newest first, with the newest
// message (the same as history's) and the unread counters; paged.
import { afterEach, expect, test } from "bun:test";
import { createMemoryUnread } from "../../lib/adapters/memory/unread.ts";
import { createSqlGroups } from "../../lib/adapters/sql/groups.ts";
import { listConversations } from "../../lib/core/conversations.ts";
import type { StoredMsg } from "../../lib/core/ports.ts";
import { startCore, type Core } from "../support/core.ts";

let core: Core;
afterEach(() => core?.close());

let id = 1000n;
const msg = (senderId: string, receiverId: string, text: string): StoredMsg => ({
  msgId: String(++id), senderId, receiverId, msg: text, msgType: 1, chatTime: `2026-01-01 00:00:${String(Number(id % 60n)).padStart(2, "0")}`,
  communicationType: receiverId.startsWith("group:") ? 2 : 1,
});

test("a user's conversations come newest first with their newest message either way and the unread counts, paged", async () => {
  core = await startCore();
  const groups = await createSqlGroups(core.store.sql);
  await groups.create({ groupId: "group:1", name: "team", ownerId: "carol" }, ["carol", "alice", "dave"]);
  await groups.create({ groupId: "group:2", name: "quiet", ownerId: "alice" }, ["alice"]);
  await groups.create({ groupId: "group:3", name: "not mine", ownerId: "eve" }, ["eve"]);
  const unread = createMemoryUnread();
  const rows = [
    msg("alice", "bob", "a→b 1"), msg("bob", "alice", "b→a 2"), msg("carol", "alice", "c→a 3"),
    msg("dave", "group:1", "team 4"), msg("eve", "group:3", "not mine 5"), msg("alice", "carol", "a→c 6"),
    msg("bob", "carol", "not alice's 7"), msg("system", "*", "broadcast 8"),
  ];
  for (const m of rows) await core.store.save(m);
  await unread.increment(rows[1]);
  await unread.incrementMany(["alice"], "group:1");
  await unread.incrementMany(["alice"], "group:1");

  const deps = { store: core.store, groups, unread };
  const page1 = await listConversations(deps, "alice", 1, 2);
  expect({ ...page1, rows: undefined }).toEqual({ page: 1, total: 2, records: 3, rows: undefined });
  expect(page1.rows.map((r) => [r.conversationId, r.type, r.lastMsg.msg, r.unread])).toEqual([
    ["carol", 1, "a→c 6", 0],
    ["group:1", 2, "team 4", 2],
  ]);
  expect(page1.rows[1].name).toBe("team");
  expect(page1.rows[0].lastTime).toBe(rows[5].chatTime);
  const page2 = await listConversations(deps, "alice", 2, 2);
  expect(page2.rows.map((r) => [r.conversationId, r.lastMsg.msg, r.unread])).toEqual([["bob", "b→a 2", 1]]);
  // The newest message is the one history shows last.
  const history = await core.store.history("alice", "bob", 1, 20);
  expect(page2.rows[0].lastMsg).toEqual(history.rows.at(-1)!);
  expect((await listConversations(deps, "alice", 3, 2)).rows).toEqual([]);
  expect((await listConversations(deps, "nobody", 1, 20)).records).toBe(0);
});
