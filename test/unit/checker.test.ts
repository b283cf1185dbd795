// The partition checker on made-up histories: it must see each kind of anomaly it reports.
import { describe, expect, test } from "bun:test";
import { Checker } from "../support/checker.ts";

function twoUsers() {
  const c = new Checker();
  c.phase("f");
  c.device("a.0", "a");
  c.device("b.0", "b");
  c.device("b.1", "b");
  c.connected("a.0/0", "a.0");
  c.connected("b.0/0", "b.0");
  c.connected("b.1/0", "b.1");
  return c;
}

const send = (c: Checker, seq: number, to = "b") => c.sent({ clientMsgId: `a.0#${seq}`, sender: "a", device: "a.0", to, seq });

describe("the partition checker", () => {
  test("a history where every device got every acked message once is clean", () => {
    const c = twoUsers();
    for (let i = 0; i < 3; i++) {
      send(c, i);
      c.acked(`a.0#${i}`, `${100 + i}`);
      for (const conn of ["b.0/0", "b.1/0"]) c.delivered(conn, `${100 + i}`, "a", `a.0#${i}`);
    }
    expect(c.row("f")).toMatchObject({ sent: 3, acked: 3, lost: 0, phantom: 0, duplicates: 0, orderViolations: 0, ackConflicts: 0 });
  });

  test("an acked message one device of the receiver never got is lost; an unacked one is not", () => {
    const c = twoUsers();
    send(c, 0);
    c.acked("a.0#0", "100");
    c.delivered("b.0/0", "100", "a", "a.0#0");
    send(c, 1); // never acked, never delivered
    expect(c.row("f")).toMatchObject({ sent: 2, acked: 1, lost: 1 });
    expect(c.missing("f").map((m) => m.device)).toEqual(["b.1"]);
  });

  test("a delivery nobody sent, or under a second msgId, is phantom", () => {
    const c = twoUsers();
    send(c, 0);
    c.acked("a.0#0", "100");
    c.delivered("b.0/0", "999", "a", "made-up");
    c.delivered("b.1/0", "101", "a", "a.0#0");
    expect(c.row("f").phantom).toBe(2);
  });

  test("duplicates before dedupe, order per connection and a second msgId for one clientMsgId are counted", () => {
    const c = twoUsers();
    for (let i = 0; i < 3; i++) send(c, i), c.acked(`a.0#${i}`, `${100 + i}`);
    c.acked("a.0#0", "200"); // a resend acked under another id
    c.delivered("b.0/0", "100", "a", "a.0#0");
    c.delivered("b.0/0", "102", "a", "a.0#2");
    c.delivered("b.0/0", "101", "a", "a.0#1"); // older than what this connection already had
    c.connected("b.0/1", "b.0");
    c.delivered("b.0/1", "100", "a", "a.0#0"); // replayed after a reconnect: a duplicate, in order
    expect(c.row("f")).toMatchObject({ duplicates: 1, arrivalReorders: 1, ackConflicts: 1 });
  });

  test("order by position: a message acked before another was sent must be presented first; messages in flight together may come in either order", () => {
    const c = twoUsers();
    // #0 acked at 10, #1 sent at 20 and acked at 30, #2 sent at 25 (while #1 was in flight).
    c.sent({ clientMsgId: "a.0#0", sender: "a", device: "a.0", to: "b", seq: 0 }, 0);
    c.acked("a.0#0", "100", 10);
    c.sent({ clientMsgId: "a.0#1", sender: "a", device: "a.0", to: "b", seq: 1 }, 20);
    c.sent({ clientMsgId: "a.0#2", sender: "a", device: "a.0", to: "b", seq: 2 }, 25);
    c.acked("a.0#2", "102", 27);
    c.acked("a.0#1", "101", 30);
    // b.0 gets #2 before #1 (out of send order), and by position #2 (2) comes before #1 (3): both were in flight together.
    c.delivered("b.0/0", "100", "a", "a.0#0", { b: 1, a: 1 });
    c.delivered("b.0/0", "102", "a", "a.0#2", { b: 2, a: 2 });
    c.delivered("b.0/0", "101", "a", "a.0#1", { b: 3, a: 3 });
    expect(c.row("f")).toMatchObject({ orderViolations: 0, arrivalReorders: 1 });
    // b.1 was given positions that put #0 after #1, though #0 was acked before #1 was sent.
    c.delivered("b.1/0", "101", "a", "a.0#1", { b: 1, a: 1 });
    c.delivered("b.1/0", "100", "a", "a.0#0", { b: 2, a: 2 });
    expect(c.row("f").orderViolations).toBe(1);
  });

  test("a group message must reach every member's devices but the sending one", () => {
    const c = twoUsers();
    c.device("a.1", "a");
    c.connected("a.1/0", "a.1");
    c.group("group:1", ["a", "b"]);
    send(c, 0, "group:1");
    c.acked("a.0#0", "100");
    for (const conn of ["b.0/0", "b.1/0"]) c.delivered(conn, "100", "a", "a.0#0");
    expect(c.missing("f").map((m) => m.device)).toEqual(["a.1"]);
  });
});
