// Capacity: how many WebSocket connections this instance takes before it refuses new ones, within
// the process's open-files limit, and whether it reports itself full to the cluster.
import { readFileSync } from "node:fs";

/** The soft open-files limit of this process, or undefined when unlimited or unknown (not Linux). */
export function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    const n = Number(line?.[1]);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Descriptors kept free for everything but client connections: the store, ZooKeeper, Redis,
 * RabbitMQ, the listening socket, the runtime's own, and HTTP requests (health probes,
 * getNettyOnlineInfo), so that those keep answering when the connections reach the cap.
 */
export function reservedDescriptors(limit: number): number {
  return Math.max(128, Math.ceil(limit * 0.05));
}

/** The connection cap a limit allows: the limit minus the reserve, at least 1. */
export function capOf(limit: number | undefined, maxConns: number | undefined): number {
  const byLimit = limit === undefined ? Infinity : Math.max(1, limit - reservedDescriptors(limit));
  return Math.min(maxConns ?? Infinity, byLimit);
}

export interface CapacityOptions {
  /** MAX_CONNS; undefined: the open-files limit decides alone. */
  maxConns?: number;
  /** Reads the open-files limit (default: /proc/self/limits); re-read at most once per `recheckMs`. */
  readLimit?: () => number | undefined;
  /** Default 1 000: a limit lowered while running (`prlimit --pid`) applies within a second. */
  recheckMs?: number;
  now?: () => number;
  /** Called with the cap at start and whenever it changes. */
  onCap?(cap: number): void;
  /** Called when the instance becomes full (at the cap) or has room again (below 95% of it). */
  onFull(full: boolean): void;
}

export type Capacity = ReturnType<typeof createCapacity>;

/** Tracks the cap and the full state; callers pass the current number of connections. */
export function createCapacity(opts: CapacityOptions) {
  const readLimit = opts.readLimit ?? openFilesLimit;
  const now = opts.now ?? Date.now;
  const recheckMs = opts.recheckMs ?? 1000;
  let cap = capOf(readLimit(), opts.maxConns);
  let checkedAt = now();
  let full = false;
  opts.onCap?.(cap);

  function currentCap(): number {
    const t = now();
    if (t - checkedAt >= recheckMs) {
      const was = cap;
      cap = capOf(readLimit(), opts.maxConns);
      checkedAt = t;
      if (cap !== was) opts.onCap?.(cap);
    }
    return cap;
  }

  /** Reports full at the cap and room again below 95% of it (no flapping at the boundary). */
  function update(connections: number): void {
    const c = currentCap();
    if (!full && connections >= c) opts.onFull((full = true));
    else if (full && connections < c * 0.95) opts.onFull((full = false));
  }

  return {
    /** The cap now (Infinity: no limit known and no MAX_CONNS). */
    get cap(): number {
      return currentCap();
    },
    get full(): boolean {
      return full;
    },
    /** True when one more connection fits beside `connections`. */
    admits(connections: number): boolean {
      update(connections);
      return connections < cap;
    },
    /** After a connection opened or closed. */
    changed: update,
  };
}
