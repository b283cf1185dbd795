// Idle timeout: pings quiet connections and closes those that sent nothing (no frame, no pong) for too long.

export interface IdleTracked {
  /** Last time (ms) anything arrived from the peer. */
  lastSeenMs: number;
  ping(): void;
  close(code: number, reason: string): void;
}

/**
 * Sweeps once a second: a connection quiet for half the timeout gets a ping; one quiet for the
 * whole timeout is closed with 1000 "idle timeout". uWebSockets' own timer is coarse (seconds of
 * slack per tick), so the bound is kept here.
 */
export function createIdleSweeper(idleTimeoutMs: number, now: () => number = Date.now) {
  const conns = new Set<IdleTracked>();
  const sweepMs = Math.min(1000, Math.max(100, idleTimeoutMs / 4));
  const timer = setInterval(() => {
    const t = now();
    for (const c of conns) {
      const quiet = t - c.lastSeenMs;
      if (quiet >= idleTimeoutMs) {
        conns.delete(c);
        c.close(1000, "idle timeout");
      } else if (quiet >= idleTimeoutMs / 2) {
        c.ping();
      }
    }
  }, sweepMs);
  timer.unref?.();
  return {
    add(c: IdleTracked): void {
      c.lastSeenMs = now();
      conns.add(c);
    },
    delete(c: IdleTracked): void {
      conns.delete(c);
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
