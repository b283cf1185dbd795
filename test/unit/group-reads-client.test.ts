// The browser client's group read state (client/group-reads.js): positions only move forward, the
// "read by" label under the user's own messages, and a group marked read once per newest message.
import { expect, test } from "bun:test";
// @ts-ignore: a plain ES module of the browser client
import { createGroupReads } from "../../client/group-reads.js";

function setUp(rows: Array<{ userId: string; msgId: string | null }>, records = rows.length) {
  const sent: any[] = [];
  const changed: string[] = [];
  const reads = createGroupReads({
    me: "alice",
    send: (f: any) => (sent.push(f), true),
    readState: async () => ({ records, rows }),
    changed: (g: string) => changed.push(g),
  });
  return { reads, sent, changed };
}
const mine = (msgId: string) => ({ senderId: "alice", msgId });

test("the label names up to three readers of the user's own message, then counts them", async () => {
  const { reads, changed } = setUp([
    { userId: "alice", msgId: null }, { userId: "bob", msgId: "200" }, { userId: "carol", msgId: "100" },
    { userId: "dave", msgId: null }, { userId: "erin", msgId: null },
  ]);
  await reads.refresh("group:1");
  expect(changed).toEqual(["group:1"]);
  expect(reads.label("group:1", mine("100"))).toBe("read by bob, carol");
  expect(reads.label("group:1", mine("150"))).toBe("read by bob");
  expect(reads.label("group:1", mine("300"))).toBe("");
  expect(reads.label("group:1", { senderId: "bob", msgId: "100" })).toBe(""); // not the user's own
  for (const [u, id] of [["dave", "300"], ["erin", "300"]]) reads.onFrame({ read: { receiverId: "group:1", readerId: u, msgId: id } });
  expect(reads.label("group:1", mine("100"))).toBe("read by 4 of 4");
  expect(reads.label("group:1", mine("300"))).toBe("read by dave, erin");
});

test("a receipt never moves a position back, and ids compare as numbers", async () => {
  const { reads, changed } = setUp([{ userId: "alice", msgId: null }, { userId: "bob", msgId: "1000" }]);
  await reads.refresh("group:1");
  expect(reads.onFrame({ read: { receiverId: "group:1", readerId: "bob", msgId: "999" } })).toBe(true);
  expect(changed).toEqual(["group:1"]); // no redraw for a position that did not move
  expect(reads.label("group:1", mine("1000"))).toBe("read by bob");
  expect(reads.onFrame({ typing: {} })).toBe(false);
});

test("viewing a group marks it read once per newest message, and again on a new connection", () => {
  const { reads, sent } = setUp([]);
  reads.viewed("group:1", "500");
  reads.viewed("group:1", "500");
  reads.viewed("group:1", "400");
  reads.viewed("group:1", undefined);
  expect(sent).toEqual([{ read: { receiverId: "group:1", msgId: "500", clientMsgId: "read-500" } }]);
  reads.onLive();
  reads.viewed("group:1", "500");
  expect(sent).toHaveLength(2);
});
