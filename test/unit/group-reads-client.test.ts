// The browser client's group read state (client/group-reads.js): positions only move forward, the
// "read by" label under the user's own messages, redraws only where a label changed, and a viewed
// group marked read once per newest message.
import { expect, test } from "bun:test";
// @ts-ignore: a plain ES module of the browser client
import { createGroupReads } from "../../client/group-reads.js";

const G = "group:1";
const own = (msgId: string) => ({ own: true, senderId: "alice", receiverId: G, msgId, rev: 0 }) as any;

function setUp(rows: Array<{ userId: string; msgId: string | null }>, messages: any[] = []) {
  const sent: any[] = [];
  const drawn: string[] = [];
  const reads = createGroupReads({
    me: "alice",
    send: (f: any) => (sent.push(f), true),
    readState: async () => ({ records: rows.length, rows }),
    messagesOf: () => messages,
    draw: (g: string) => drawn.push(g),
  });
  return { reads, sent, drawn };
}

test("the label names up to three readers of the user's own message, then counts them", async () => {
  const { reads } = setUp([
    { userId: "alice", msgId: null }, { userId: "bob", msgId: "200" }, { userId: "carol", msgId: "100" },
    { userId: "dave", msgId: null }, { userId: "erin", msgId: null },
  ]);
  await reads.refresh(G);
  expect(reads.label(own("100"))).toBe("read by bob, carol");
  expect(reads.label(own("150"))).toBe("read by bob");
  expect(reads.label(own("300"))).toBe("");
  expect(reads.label({ ...own("100"), own: false, senderId: "bob" })).toBe(""); // not the user's own
  expect(reads.label({ ...own("100"), msgId: undefined })).toBe(""); // not stored yet
  for (const u of ["dave", "erin"]) reads.onReceipt({ receiverId: G, readerId: u, msgId: "300" });
  expect(reads.label(own("100"))).toBe("read by 4 of 4");
  expect(reads.label(own("300"))).toBe("read by dave, erin");
});

test("a receipt redraws the own messages whose label changed, and never moves a position back", async () => {
  const [m1, m2] = [own("999"), own("1000")];
  const { reads, drawn } = setUp([{ userId: "alice", msgId: null }, { userId: "bob", msgId: "999" }], [m1, m2]);
  await reads.refresh(G);
  expect([m1.readBy, m1.rev, m2.rev]).toEqual(["read by bob", 1, 0]);
  expect(drawn).toEqual([G]);
  reads.onReceipt({ receiverId: G, readerId: "bob", msgId: "1000" }); // "1000" > "999" as numbers
  expect([m1.rev, m2.rev, m2.readBy]).toEqual([1, 1, "read by bob"]);
  reads.onReceipt({ receiverId: G, readerId: "bob", msgId: "998" });
  expect(drawn).toHaveLength(2);
  expect(reads.label(m2)).toBe("read by bob");
});

test("viewing a group marks it read up to its newest stored message, once, and again on a new connection", () => {
  const { reads, sent } = setUp([]);
  const conv = { kind: "group", peer: G, byMsgId: new Map([["500", {}], ["1000", {}], ["999", {}]]) };
  reads.viewed(conv);
  reads.viewed(conv);
  reads.viewed({ kind: "user", peer: "bob", byMsgId: new Map([["2000", {}]]) });
  reads.viewed({ kind: "group", peer: "group:2", byMsgId: new Map() });
  expect(sent).toEqual([{ read: { receiverId: G, msgId: "1000", clientMsgId: "read-1000" } }]);
  reads.onLive(undefined);
  reads.viewed(conv);
  expect(sent).toHaveLength(2);
});
