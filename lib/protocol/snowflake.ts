// Snowflake message ids: 41 bits of ms since 2020-01-01, 10 bits of worker id, 12 bits of sequence.

const EPOCH_MS = 1577836800000n;

export interface Snowflake {
  /** Next id as a decimal string; strictly increasing within this process. */
  next(): string;
}

/**
 * Creates an id generator for `workerId` (0..1023), or for a function that tells the current one
 * (a cluster instance's id may change after it re-registers). Tolerates the clock stepping back.
 */
export function createSnowflake(workerId: number | (() => number), now: () => number = Date.now): Snowflake {
  const current = typeof workerId === "function" ? workerId : () => workerId;
  const check = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id > 1023) throw new RangeError(`snowflake worker id must be 0..1023, got ${id}`);
    return id;
  };
  let workerIdNow = check(current());
  let worker = BigInt(workerIdNow) << 12n;
  let lastMs = 0;
  let seq = 0;
  return {
    next() {
      const id = current();
      if (id !== workerIdNow) worker = BigInt((workerIdNow = check(id))) << 12n;
      let ms = now();
      if (ms <= lastMs) {
        // Same millisecond, or the clock went back: keep counting on the last one.
        ms = lastMs;
        seq = (seq + 1) & 0xfff;
        if (seq === 0) ms = ++lastMs; // sequence exhausted: borrow the next millisecond
      } else {
        seq = 0;
      }
      lastMs = ms;
      return (((BigInt(ms) - EPOCH_MS) << 22n) | worker | BigInt(seq)).toString();
    },
  };
}

/** The smallest id any instance can have made at `ms` or later: ids below it are older. */
export function snowflakeFloor(ms: number): string {
  const t = BigInt(Math.floor(ms)) - EPOCH_MS;
  return t > 0n ? (t << 22n).toString() : "0";
}

/** When a snowflake id was made (ms since the epoch). */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + EPOCH_MS);
}
