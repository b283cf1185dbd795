// Unit tests of lib/snowflake.ts: decimal, strictly increasing, unique ids; worker bits; clock faults.
import { describe, expect, test } from "bun:test";
import { createSnowflake } from "../../lib/protocol/snowflake.ts";

const EPOCH_MS = 1577836800000; // 2020-01-01T00:00:00Z
const workerOf = (id: string) => Number((BigInt(id) >> 12n) & 0x3ffn);
const sequenceOf = (id: string) => Number(BigInt(id) & 0xfffn);
const msOf = (id: string) => Number(BigInt(id) >> 22n) + EPOCH_MS;

/** Asserts that every id is larger than the one before (as BigInt) and that none repeats. */
function expectStrictlyIncreasing(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(BigInt(ids[i]) > BigInt(ids[i - 1]))) {
      throw new Error(`id #${i} ${ids[i]} is not larger than #${i - 1} ${ids[i - 1]}`);
    }
  }
  expect(new Set(ids).size).toBe(ids.length);
}

describe("createSnowflake", () => {
  test("ids are decimal strings without leading zeros", () => {
    const ids = createSnowflake(1);
    for (let i = 0; i < 1000; i++) {
      const id = ids.next();
      expect(typeof id).toBe("string");
      expect(id).toMatch(/^[1-9]\d*$/);
    }
  });

  test("ids are larger than 2^53, so they must travel as strings", () => {
    expect(BigInt(createSnowflake(0).next())).toBeGreaterThan(2n ** 53n);
  });

  test("100,000 ids in a row are strictly increasing and unique", () => {
    const gen = createSnowflake(7);
    const ids = Array.from({ length: 100_000 }, () => gen.next());
    expectStrictlyIncreasing(ids);
  });

  test("the id carries the current millisecond in its top bits", () => {
    const before = Date.now();
    const id = createSnowflake(3).next();
    const after = Date.now();
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  });

  test("the worker id is in bits 12..21", () => {
    for (const worker of [0, 1, 2, 511, 512, 1023]) {
      const gen = createSnowflake(worker);
      for (let i = 0; i < 10; i++) expect(workerOf(gen.next())).toBe(worker);
    }
  });

  test("the first id of a millisecond has sequence 0 and later ones count up", () => {
    const gen = createSnowflake(5, () => EPOCH_MS + 1000);
    expect(sequenceOf(gen.next())).toBe(0);
    expect(sequenceOf(gen.next())).toBe(1);
    expect(sequenceOf(gen.next())).toBe(2);
  });

  test("a fixed clock gives exactly the documented layout", () => {
    const id = createSnowflake(5, () => EPOCH_MS + 1000).next();
    expect(id).toBe(((1000n << 22n) | (5n << 12n)).toString());
  });

  test("two workers in the same millisecond never produce the same id", () => {
    const clock = () => EPOCH_MS + 123_456;
    const a = createSnowflake(1, clock);
    const b = createSnowflake(2, clock);
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      ids.add(a.next());
      ids.add(b.next());
    }
    expect(ids.size).toBe(10_000);
  });

  test("two workers on the real clock never collide over 50,000 ids each", () => {
    const a = createSnowflake(10);
    const b = createSnowflake(11);
    const ids = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      ids.add(a.next());
      ids.add(b.next());
    }
    expect(ids.size).toBe(100_000);
  });

  test("the clock stepping back still yields increasing ids", () => {
    let now = EPOCH_MS + 10_000;
    const gen = createSnowflake(4, () => now);
    const ids = [gen.next(), gen.next()];
    now -= 5_000; // NTP step back by 5 s
    for (let i = 0; i < 100; i++) ids.push(gen.next());
    now += 2_000; // still behind the last millisecond used
    for (let i = 0; i < 100; i++) ids.push(gen.next());
    now += 10_000; // past it again
    ids.push(gen.next());
    expectStrictlyIncreasing(ids);
    expect(msOf(ids.at(-1)!)).toBe(now);
  });

  test("more than 4096 ids in one frozen millisecond stay unique and increasing", () => {
    const gen = createSnowflake(9, () => EPOCH_MS + 50_000);
    const ids = Array.from({ length: 4096 * 3 + 17 }, () => gen.next());
    expectStrictlyIncreasing(ids);
    for (const id of ids) expect(workerOf(id)).toBe(9);
  });

  test("sequence overflow borrows the next millisecond instead of wrapping", () => {
    const gen = createSnowflake(9, () => EPOCH_MS + 50_000);
    const ids = Array.from({ length: 4097 }, () => gen.next());
    expect(sequenceOf(ids[4095])).toBe(4095);
    expect(msOf(ids[4095])).toBe(EPOCH_MS + 50_000);
    expect(sequenceOf(ids[4096])).toBe(0);
    expect(msOf(ids[4096])).toBe(EPOCH_MS + 50_001);
  });

  test("after borrowing ahead, the real clock catching up keeps ids increasing", () => {
    let now = EPOCH_MS + 50_000;
    const gen = createSnowflake(9, () => now);
    const ids = Array.from({ length: 4096 * 2 + 5 }, () => gen.next()); // borrowed 2 ms ahead
    now += 1; // the clock reaches a borrowed millisecond
    for (let i = 0; i < 10; i++) ids.push(gen.next());
    now += 5;
    for (let i = 0; i < 10; i++) ids.push(gen.next());
    expectStrictlyIncreasing(ids);
  });

  for (const bad of [-1, 1024, 5000, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`worker id ${bad} is refused with a RangeError`, () => {
      expect(() => createSnowflake(bad)).toThrow(RangeError);
    });
  }

  test("worker ids 0 and 1023 are accepted", () => {
    expect(() => createSnowflake(0)).not.toThrow();
    expect(() => createSnowflake(1023)).not.toThrow();
  });
});
