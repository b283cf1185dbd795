// onlineCounts in this instance's server-list node, written under the rw-lock and coalesced: a change
// sets the wanted absolute value and one writer writes the latest one, within `flushIntervalMs`.
import { failureStreak, type Logger } from "../../log.ts";
import type { ZkClient } from "./client.ts";
import type { ReadWriteLock } from "./rw-lock.ts";

export interface CountWriterOptions {
  zk: ZkClient;
  lock: ReadWriteLock;
  listPath: string;
  /** The node's data for a count: exactly the seed's JSON. */
  json(count: number): string;
  /** This instance's node name now (undefined while not registered or draining). */
  ownName(): string | undefined;
  log: Logger;
  flushIntervalMs: number;
  lockTimeoutMs: number;
  /** Benchmark-only: the seed's way — every change takes the write lock, lists and reads every node. */
  seedStyle?: boolean;
  /** Measurements: time waiting for the write lock, and from a count change to its write. */
  observe?: { lockWaitMs(ms: number): void; flushLagMs(ms: number): void };
}

export type CountWriter = ReturnType<typeof createCountWriter>;

export function createCountWriter(opts: CountWriterOptions) {
  const { zk, lock, listPath } = opts;
  const failures = failureStreak(opts.log, "registry.count_write_failed");
  let desired = 0;
  let written = -1;
  let stopped = false;
  let lockAcquisitions = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let flushing: Promise<void> | undefined;
  let dirtySince = 0;
  let attempt = 0;

  async function writeCount(): Promise<void> {
    const asked = performance.now();
    await lock.withWriteLock(
      async (signal) => {
        lockAcquisitions++;
        opts.observe?.lockWaitMs(performance.now() - asked);
        const count = desired;
        const name = opts.ownName();
        if (!name || stopped || count === written || signal.aborted) return;
        await zk.setData(`${listPath}/${name}`, opts.json(count));
        written = count;
        if (dirtySince && desired === written) {
          opts.observe?.flushLagMs(performance.now() - dirtySince);
          dirtySince = 0;
        }
      },
      { timeoutMs: opts.lockTimeoutMs },
    );
  }

  /** Writes the latest count now (under the rw-lock), if it differs from what the node holds. */
  async function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    while (flushing) await flushing.catch(() => {}); // never two writes in flight
    if (!opts.ownName() || stopped || desired === written) return;
    flushing = writeCount().finally(() => (flushing = undefined));
    await flushing;
  }

  function schedule(delayMs = opts.flushIntervalMs): void {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      flush().then(
        () => {
          attempt = 0;
          failures.ok();
        },
        (err) => {
          failures.fail({ err }); // retried until it succeeds
          schedule(Math.min(5000, opts.flushIntervalMs * 2 ** ++attempt));
        },
      );
    }, delayMs);
  }

  let seedChain: Promise<void> = Promise.resolve();
  function seedStyleWrite(count: number): void {
    seedChain = seedChain.then(() =>
      lock
        .withWriteLock(async () => {
          lockAcquisitions++;
          for (const child of await zk.getChildren(listPath)) {
            await zk.getData(`${listPath}/${child}`);
            if (child === opts.ownName()) await zk.setData(`${listPath}/${child}`, opts.json(count));
          }
          desired = written = count;
        }, { timeoutMs: 60_000 })
        .catch((err) => opts.log.warn("registry.count_write_failed", { err })),
    );
  }

  return {
    flush,
    /** Sets the wanted absolute count; written coalesced. */
    set(count: number): void {
      const n = Math.max(0, Math.floor(count) || 0);
      if (opts.seedStyle) return seedStyleWrite(n);
      desired = n;
      if (desired !== written) {
        dirtySince ||= performance.now();
        schedule();
      }
    },
    /** The count the node was created with (it then holds it). */
    created(): number {
      written = desired;
      return desired;
    },
    /** The node is gone with its session: whatever it held must be written again. */
    forget(): void {
      written = -1;
    },
    /** After (re-)registration: write what changed meanwhile. */
    resume(): void {
      if (desired !== written) schedule();
    },
    /** Stops writing and waits for a write under way. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      while (flushing) await flushing.catch(() => {});
    },
    get lockAcquisitions() {
      return lockAcquisitions;
    },
  };
}
