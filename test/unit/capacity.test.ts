// Unit tests of lib/capacity.ts (fake limits and time) and of least-loaded routing around full instances.
import { describe, expect, test } from "bun:test";
import { capOf, createCapacity, openFilesLimit, reservedDescriptors } from "../../lib/transport/capacity.ts";
import { leastLoaded } from "../../lib/core/directory.ts";

describe("the connection cap", () => {
  test("is the open-files limit minus a reserve of at least 128 or 5%", () => {
    expect(reservedDescriptors(600)).toBe(128);
    expect(capOf(600, undefined)).toBe(472);
    expect(capOf(20_000, undefined)).toBe(19_000);
    expect(capOf(1_048_576, undefined)).toBe(1_048_576 - 52_429);
    expect(capOf(100, undefined)).toBe(1);
  });
  test("MAX_CONNS lowers it, never raises it past the limit; no limit known and none set is no cap", () => {
    expect(capOf(20_000, 5_000)).toBe(5_000);
    expect(capOf(600, 5_000)).toBe(472);
    expect(capOf(undefined, 5_000)).toBe(5_000);
    expect(capOf(undefined, undefined)).toBe(Infinity);
  });
  test("this process's limit is read from /proc/self/limits", () => {
    const limit = openFilesLimit();
    expect(limit === undefined || (Number.isInteger(limit) && limit > 0)).toBe(true);
  });
});

describe("createCapacity", () => {
  const make = (limit: { value: number }, clock: { t: number }, events: boolean[]) =>
    createCapacity({ readLimit: () => limit.value, now: () => clock.t, onFull: (f) => events.push(f) });

  test("admits below the cap, refuses at it, and reports full once", () => {
    const limit = { value: 600 };
    const clock = { t: 0 };
    const events: boolean[] = [];
    const cap = make(limit, clock, events);
    expect(cap.admits(471)).toBe(true);
    expect(cap.admits(472)).toBe(false);
    expect(cap.admits(472)).toBe(false);
    expect(events).toEqual([true]);
    expect(cap.full).toBe(true);
  });
  test("has room again only below 95% of the cap, so it does not flap at the boundary", () => {
    const events: boolean[] = [];
    const cap = make({ value: 600 }, { t: 0 }, events);
    cap.changed(472);
    cap.changed(471);
    cap.changed(449);
    expect(events).toEqual([true]);
    cap.changed(448);
    expect(events).toEqual([true, false]);
  });
  test("a limit lowered while running applies at the next check, a second later at most", () => {
    const limit = { value: 20_000 };
    const clock = { t: 0 };
    const events: boolean[] = [];
    const cap = make(limit, clock, events);
    expect(cap.admits(1000)).toBe(true);
    limit.value = 600;
    clock.t = 500;
    expect(cap.admits(1000)).toBe(true); // not re-read yet
    clock.t = 1000;
    expect(cap.admits(1000)).toBe(false);
    expect(cap.cap).toBe(472);
    expect(events).toEqual([true]);
  });
});

describe("leastLoaded", () => {
  const nodes = [
    { ip: "10.0.0.1", port: 875, onlineCounts: 3 },
    { ip: "10.0.0.2", port: 875, onlineCounts: 9 },
  ];
  test("skips an instance marked full", () => {
    expect(leastLoaded({ nodes: () => nodes, isFull: (id) => id === "10.0.0.1_875" })?.ip).toBe("10.0.0.2");
  });
  test("picks among all when every instance is full", () => {
    expect(leastLoaded({ nodes: () => nodes, isFull: () => true })?.ip).toBe("10.0.0.1");
  });
  test("spreads ties among the least loaded", () => {
    const tied = [nodes[0], { ...nodes[1], onlineCounts: 3 }];
    const picked = new Set(Array.from({ length: 200 }, () => leastLoaded({ nodes: () => tied, isFull: () => false })?.ip));
    expect(picked).toEqual(new Set(["10.0.0.1", "10.0.0.2"]));
  });
});
