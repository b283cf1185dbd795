// A client's positions (client/positions.js, used by the browser client and the test clients): what a client holds with none missing
// below, the gaps it sees, and where a timeline it did not know starts.
import { expect, test } from "bun:test";
import { Positions } from "../../client/positions.js";

const mine = (t: string) => t === "bob" || t.startsWith("group:") || t === "*";

test("the base moves over positions held with none missing; a gap holds it until filled, in any order", () => {
  const p = new Positions(mine);
  p.started({ bob: 2, "*": 0 }, 0);
  p.record({ bob: 3, alice: 9 }, 10); // alice's timeline is not bob's
  p.record({ bob: 5 }, 20);
  expect(p.held()).toEqual({ bob: 3, "*": 0 });
  expect(p.gapAge(1020)).toBe(1000);
  p.record({ bob: 4 }, 1100);
  expect(p.held()).toEqual({ bob: 5, "*": 0 });
  expect(p.gapAge(5000)).toBe(0);
  p.record({ bob: 5 }, 5000); // a duplicate changes nothing
  expect(p.held()).toEqual({ bob: 5, "*": 0 });
});

test("positions seen before the ack's tops are kept; those at or below the top are dropped; the gaps are timed again", () => {
  const p = new Positions(mine);
  p.record({ "group:1": 7 }, 0); // a live frame held during the replay, before the ack
  p.record({ "group:1": 9 }, 0);
  expect(p.gapAge(100)).toBe(0); // no base yet: no gap is known
  p.started({ bob: 0, "group:1": 6 }, 5000);
  expect(p.held()).toEqual({ bob: 0, "group:1": 7 });
  expect(p.gapAge(5500)).toBe(500);
  p.record({ "group:1": 8 }, 6000);
  expect(p.held()).toEqual({ bob: 0, "group:1": 9 });
  p.started({ bob: 50, "group:1": 60 }, 7000); // a later ack never moves a known base
  expect(p.held()).toEqual({ bob: 0, "group:1": 9 });
});
