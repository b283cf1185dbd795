// Abuse limits: frames per second per connection, new connections per second per address.

/**
 * A token bucket per connection: `ratePerS` frames a second with bursts of twice that. each call
 * answers "ok", "limited" (drop this frame, tell the client) or "abusive" (frames dropped for more
 * than `abuseAfterMs` with no second free of drops: close the connection). A rate of 0 disables it.
 */
export function createFrameLimiter(ratePerS: number, abuseAfterMs = 5000, now: () => number = Date.now) {
  return () => {
    let tokens = ratePerS * 2;
    let last = now();
    let limitedSince = 0;
    let lastLimited = 0;
    return (): "ok" | "limited" | "abusive" => {
      if (ratePerS === 0) return "ok";
      const t = now();
      tokens = Math.min(ratePerS * 2, tokens + ((t - last) * ratePerS) / 1000);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return "ok";
      }
      // A run of limiting ends only after a second without a dropped frame.
      if (!limitedSince || t - lastLimited > 1000) limitedSince = t;
      lastLimited = t;
      return t - limitedSince > abuseAfterMs ? "abusive" : "limited";
    };
  };
}

/** Counts new connections per client address in one-second windows; a limit of 0 disables it. */
export function createConnectLimiter(perSecond: number, now: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>();
  let sweptAt = now();
  return (address: string): boolean => {
    if (perSecond === 0) return true;
    const t = now();
    if (t - sweptAt > 10_000) {
      for (const [k, w] of windows) if (t - w.start >= 1000) windows.delete(k);
      sweptAt = t;
    }
    const w = windows.get(address);
    if (!w || t - w.start >= 1000) {
      windows.set(address, { start: t, count: 1 });
      return true;
    }
    return ++w.count <= perSecond;
  };
}
