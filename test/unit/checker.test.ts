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
    expect(c.row("f")).toMatchObject({ duplicates: 1, orderViolations: 1, ackConflicts: 1 });
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
