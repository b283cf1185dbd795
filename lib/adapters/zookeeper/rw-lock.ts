// A distributed read-write lock with the znode layout of Curator's InterProcessReadWriteLock.
//
// Nodes are `<path>/_c_<uuid>-__READ__<seq>` / `…-__WRIT__<seq>` (EPHEMERAL_SEQUENTIAL, created in
// Curator's "protected" mode) and are ordered by the sequence after the lock name, as Curator's
// SortingLockInternalsDriver does, so a Java service locking the same path is excluded correctly.
// Not re-entrant: a nested acquisition in one process waits for itself until its timeout.
import { randomUUID } from "node:crypto";
import { silentLogger, type Logger } from "../../log.ts";
import { CreateMode, ZkCode, zkCode, ZkEventType } from "./library.ts";
import { type ZkClient } from "./client.ts";

export const READ_LOCK_NAME = "__READ__";
export const WRITE_LOCK_NAME = "__WRIT__";
const PROTECTED_PREFIX = "_c_";

/** The lock was not acquired within `timeoutMs`. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}
/** The lock is no longer held: session expired, connection in doubt, or the node was deleted. */
export class LockLostError extends Error {
  override name = "LockLostError";
}

/** The ZooKeeper operations the lock uses. */
export type LockZk = Pick<ZkClient, "create" | "mkdirp" | "getChildren" | "getData" | "remove" | "on" | "connected" | "state">;

export interface LockOptions {
  /** Bound on waiting for the lock. Default 10 000. */
  timeoutMs?: number;
}

export interface ReadWriteLock {
  /** Runs `fn` holding the exclusive lock; releases in `finally`. `signal` aborts if the lock is lost. */
  withWriteLock<T>(fn: (signal: AbortSignal) => Promise<T>, opts?: LockOptions): Promise<T>;
  /** Runs `fn` holding a shared lock (no writer ahead of it); releases in `finally`. */
  withReadLock<T>(fn: (signal: AbortSignal) => Promise<T>, opts?: LockOptions): Promise<T>;
}

export interface ReadWriteLockOptions {
  /** The lock's znode, e.g. `/wechat/rw-lock`. */
  path: string;
  /** Data stored in each lock node (Curator stores the host address by default). */
  data?: string;
  log?: Logger;
}

/** Curator's fixForSorting for both lock names: the sequence after the last lock name. */
export function sequenceOf(name: string): string {
  for (const lockName of [READ_LOCK_NAME, WRITE_LOCK_NAME]) {
    const i = name.lastIndexOf(lockName);
    if (i >= 0) name = name.substring(i + lockName.length);
  }
  return name;
}

/** Children sorted as Curator sorts them (by the sequence, whatever the lock name or uuid). */
export function sortLockNodes(children: readonly string[]): string[] {
  return [...children].sort((a, b) => {
    const [x, y] = [sequenceOf(a), sequenceOf(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * Curator's predicates. Write: first in line, else watch the node just before. Read: no write node
 * before ours, else watch the first write node. Returns null when `ours` is missing (session lost).
 */
export function decide(sorted: readonly string[], ours: string, lockName: string): { acquired: boolean; watch?: string } | null {
  if (lockName === WRITE_LOCK_NAME) {
    const index = sorted.indexOf(ours);
    if (index < 0) return null;
    return index === 0 ? { acquired: true } : { acquired: false, watch: sorted[index - 1] };
  }
  let firstWrite = Infinity;
  let index = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].includes(WRITE_LOCK_NAME)) firstWrite = Math.min(firstWrite, i);
    else if (sorted[i].startsWith(ours)) {
      index = i;
      break;
    }
  }
  if (index < 0) return null;
  return index < firstWrite ? { acquired: true } : { acquired: false, watch: sorted[firstWrite] };
}

/** Creates the lock handle; nothing touches ZooKeeper until a lock is taken. */
export function createReadWriteLock(zk: LockZk, opts: ReadWriteLockOptions): ReadWriteLock {
  const base = opts.path.replace(/\/+$/, "");
  const data = opts.data ?? "";
  const log = opts.log ?? silentLogger;

  /** Creates our node in protected mode: after a connection loss, finds it by its uuid prefix. */
  async function createNode(lockName: string, deadline: number): Promise<string> {
    let prefix = `${PROTECTED_PREFIX}${randomUUID()}-`;
    let search = false;
    while (Date.now() < deadline) {
      try {
        if (search) {
          // The create may have happened before the connection dropped: look for our node.
          const found = (await zk.getChildren(base)).find((child) => child.startsWith(prefix));
          if (found) return `${base}/${found}`;
          search = false;
        }
        return await zk.create(`${base}/${prefix}${lockName}`, data, CreateMode.EPHEMERAL_SEQUENTIAL);
      } catch (err) {
        const code = zkCode(err);
        if (zk.state === "closed") throw err;
        if (code === ZkCode.NO_NODE) await zk.mkdirp(base);
        else if (code === ZkCode.CONNECTION_LOSS) search = true;
        else if (code === ZkCode.SESSION_EXPIRED) prefix = `${PROTECTED_PREFIX}${randomUUID()}-`;
        else throw err;
      }
    }
    throw new LockTimeoutError(`lock ${base}: could not create a lock node in time`);
  }

  /** Waits until `path` changes or disappears, the session ends, or `ms` elapse; true if woken. */
  function waitFor(path: string, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let done = false;
      const finish = (value: boolean | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        offExpired();
        value instanceof Error ? reject(value) : resolve(value);
      };
      const timer = setTimeout(() => finish(false), ms);
      const offExpired = zk.on("expired", () => finish(new LockLostError("zookeeper session expired while waiting")));
      // getData rather than exists: no watch is left behind on a node that is already gone (as Curator).
      zk.getData(path, () => finish(true)).catch((err) => {
        const code = zkCode(err);
        if (code === ZkCode.SESSION_EXPIRED) finish(new LockLostError("zookeeper session expired while waiting"));
        else if (code === ZkCode.NO_NODE || (code === ZkCode.CONNECTION_LOSS && zk.state !== "closed")) finish(true);
        else finish(err as Error);
      });
    });
  }

  /** The lock's children, or undefined after a connection loss (the next request waits for the reconnect). */
  async function listChildren(): Promise<string[] | undefined> {
    try {
      return await zk.getChildren(base);
    } catch (err) {
      const code = zkCode(err);
      if (code === ZkCode.CONNECTION_LOSS && zk.state !== "closed") return undefined;
      if (code === ZkCode.SESSION_EXPIRED) throw new LockLostError("zookeeper session expired while waiting");
      throw err;
    }
  }

  /** Takes the lock: resolves with our node's path, or throws (and removes our node). */
  async function acquire(lockName: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ours = await createNode(lockName, deadline);
      const name = ours.substring(base.length + 1);
      try {
        for (;;) {
          const children = await listChildren();
          const verdict = children && decide(sortLockNodes(children), name, lockName);
          if (verdict === null) throw new LockLostError("lock node vanished (session expired)");
          if (verdict?.acquired) return ours;
          const left = deadline - Date.now();
          if (left <= 0) {
            const kind = lockName === WRITE_LOCK_NAME ? "write" : "read";
            throw new LockTimeoutError(`${kind} lock ${base} not acquired within ${timeoutMs} ms`);
          }
          if (verdict) await waitFor(`${base}/${verdict.watch}`, left);
        }
      } catch (err) {
        await release(ours);
        // Our node died with the session: start over in the new one, as Curator retries on NoNode.
        if (err instanceof LockLostError && Date.now() < deadline) continue;
        throw err;
      }
    }
  }

  /** Deletes our node, across a connection loss (Curator's guaranteed delete); an expired session took it already. */
  async function release(path: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await zk.remove(path);
        return;
      } catch (err) {
        const code = zkCode(err);
        if (code === ZkCode.SESSION_EXPIRED) return;
        if (code !== ZkCode.CONNECTION_LOSS || attempt >= 10) {
          log.error("lock.release_failed", { path, err });
          return;
        }
      }
    }
  }

  /** Aborts `controller` when our node is deleted (data changes, e.g. Curator's revoke, re-arm the watch). */
  function watchOwnNode(path: string, lose: (why: string) => void): void {
    const watcher = (event: { getType(): number }) => {
      if (event.getType() === ZkEventType.NODE_DELETED) lose("lock node deleted");
      else watchOwnNode(path, lose);
    };
    zk.getData(path, watcher).catch((err) => lose(`lock node unreadable (${(err as Error).message})`));
  }

  async function withLock<T>(lockName: string, fn: (signal: AbortSignal) => Promise<T>, opts: LockOptions = {}): Promise<T> {
    const ours = await acquire(lockName, opts.timeoutMs ?? 10_000);
    const controller = new AbortController();
    let released = false;
    const lose = (why: string) => {
      if (!released && !controller.signal.aborted) controller.abort(new LockLostError(`lock ${ours} lost: ${why}`));
    };
    // A holder must not go on believing it holds the lock once its session is in doubt.
    const offs = [
      zk.on("disconnected", () => lose("zookeeper connection lost")),
      zk.on("expired", () => lose("zookeeper session expired")),
    ];
    if (!zk.connected) lose("zookeeper connection lost");
    watchOwnNode(ours, lose);
    try {
      return await fn(controller.signal);
    } finally {
      released = true;
      for (const off of offs) off();
      await release(ours);
    }
  }

  return {
    withWriteLock: (fn, o) => withLock(WRITE_LOCK_NAME, fn, o),
    withReadLock: (fn, o) => withLock(READ_LOCK_NAME, fn, o),
  };
}
