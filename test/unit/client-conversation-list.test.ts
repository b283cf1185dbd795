// The browser client's conversation list model (client/conversation-list.js) with a fake API and
// store: the server's page merged newest first, live messages moving up and counting, a message the
// list already had (the server's catch-up) neither moving nor counting, older pages on demand.
import { expect, test } from "bun:test";
// @ts-expect-error: a plain ES module of the browser client
import { createConversationList } from "../../client/conversation-list.js";

const row = (id: string, msgId: string, time: string, unread = 0, senderId = id) => ({
  conversationId: id, type: id.startsWith("group:") ? 2 : 1, lastMsg: { msgId, senderId, receiverId: "me", msg: `m${msgId}`, msgType: 1, chatTime: time },
  lastTime: time, unread,
});

function listWith(pages: any[][], counts: Record<string, number>, open?: string) {
  const cleared: string[] = [];
  const api = {
    conversations: async (_me: string, page: number) => ({ page, total: pages.length, records: pages.flat().length, rows: pages[page - 1] ?? [] }),
    unreadCounts: async () => counts,
    clearUnread: async (_me: string, peer: string) => void cleared.push(peer),
  };
  let saved: any[] = [];
  const store = { peers: () => [], savePeers: (l: any[]) => (saved = l) };
  const list = createConversationList({ me: "me", api, store, viewing: (id: string) => id === open, row: () => {}, changed: () => {} });
  return { list, cleared, saved: () => saved };
}
const ids = (list: any) => list.entries().map((e: any) => e.id);
const msg = (senderId: string, msgId: string, chatTime: string) => ({ msgId, senderId, msg: `m${msgId}`, msgType: 1, chatTime, own: false });

test("page 1 lists newest first (within one second by msgId), with previews and the server's counts", async () => {
  const t = "2026-12-07 12:00:00";
  const { list } = listWith([[row("yuri", "30", t, 2), row("group:7", "20", t, 1, "zed"), row("xena", "10", "2026-12-07 11:00:00", 1)]], { yuri: 2, "group:7": 1, xena: 1 });
  await list.reload();
  expect(ids(list)).toEqual(["yuri", "group:7", "xena", "system"]);
  expect(list.entries()[1].preview).toBe("zed: m20");
  expect([...list.counts]).toEqual([["yuri", 2], ["group:7", 1], ["xena", 1]]);
  expect(list.paging()).toEqual({ hasMore: false, loading: false });
});

test("a live message moves its conversation up and counts, unless it is open; one the list already had does neither", async () => {
  const { list, cleared } = listWith([[row("yuri", "30", "2026-12-07 12:00:00", 2), row("xena", "10", "2026-12-07 11:00:00", 1)]], { yuri: 2, xena: 1 }, "open");
  await list.reload();
  const xenaOld = msg("xena", "10", "2026-12-07 11:00:00");
  list.message("xena", xenaOld, xenaOld, true); // the catch-up sends it again
  expect(ids(list)).toEqual(["yuri", "xena", "system"]);
  expect(list.counts.get("xena")).toBe(1);
  const yuriOne = msg("yuri", "25", "2026-12-07 12:00:00"); // older than the row's, caught up first
  list.message("yuri", yuriOne, yuriOne, true);
  expect(list.entries()[0].preview).toBe("m30");
  const xenaNew = msg("xena", "40", "2026-12-07 12:05:00");
  list.message("xena", xenaNew, xenaNew, true);
  expect(ids(list)).toEqual(["xena", "yuri", "system"]);
  expect(list.counts.get("xena")).toBe(2);
  expect(list.entries()[0].preview).toBe("m40");
  const toOpen = msg("open", "50", "2026-12-07 12:06:00");
  list.message("open", toOpen, toOpen, true);
  expect(ids(list)[0]).toBe("open");
  expect(list.counts.has("open")).toBe(false);
  list.clear("xena");
  expect(list.counts.has("xena")).toBe(false);
  await Bun.sleep(5);
  expect(cleared).toEqual(["xena"]); // on the server too (the open one's clear waits for the server's count)
  list.stop();
});

test("older pages load on demand and append below, then no more", async () => {
  const p1 = [row("b", "20", "2026-12-07 12:00:00")];
  const p2 = [row("a", "10", "2026-12-07 11:00:00", 3)];
  const { list, saved } = listWith([p1, p2], {});
  await list.reload();
  expect(ids(list)).toEqual(["b", "system"]);
  expect(list.paging().hasMore).toBe(true);
  await list.more();
  expect(ids(list)).toEqual(["b", "a", "system"]);
  expect(list.counts.get("a")).toBe(3); // an older page brings its own counts
  expect(list.paging().hasMore).toBe(false);
  list.save();
  expect(saved().map((e: any) => e.id)).toEqual(["b", "a", "system"]);
});
