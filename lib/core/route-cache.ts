// A short-lived cache of route lookups, and the catch-up that keeps it from costing a message.
//
// Why it is safe (the argument the tests check, test/core/route-cache.test.ts):
// - An entry (which instances hold a user, or that none does) is used for at most `ttlMs` from
//   when its lookup was sent, and only for messages created less than FRESH_MS ago.
// - So a stale entry was read before some route write W (a new connection of the user on an
//   instance B) and is not used past W + ttlMs; every message routed with it was stored before it
//   was routed, and was created after W − FRESH_MS.
// - B, at W + ttlMs + CATCH_UP_SLACK_MS, reads the store for the user's messages created after
//   W − CATCH_UP_LOOKBACK_MS and sends the new connection those it did not already get: nothing
//   acked is missed, whatever the cache said. (The lookback exceeds FRESH_MS by the clock skew
//   allowed between hosts: NTP keeps it far below a second.)
// - Every event that already makes lookups distrusted (an instance left, the routes' store
//   reconnected, the audit found routes missing) bypasses and clears the cache.

/** Messages older than this (an old message redelivered, a slow store) are routed by a fresh lookup. */
export const FRESH_MS = 1_000;
/** How far before a connection's route write its catch-up reads (FRESH_MS plus clock skew). */
export const CATCH_UP_LOOKBACK_MS = 2_000;
/** How long after the cache's lifetime the catch-up runs (timers are not exact). */
export const CATCH_UP_SLACK_MS = 250;

export interface RouteCache {
  /** Instances holding any of `userIds`, from entries younger than the lifetime, else looked up. */
  lookup(userIds: readonly string[]): Promise<string[]>;
  /** Forgets every entry (lookups are distrusted, or the view changed). */
  clear(): void;
  readonly size: number;
}

export function createRouteCache(deps: {
  lookup(userIds: readonly string[]): Promise<string[]>;
  ttlMs: number;
  now: () => number;
}): RouteCache {
  // Insertion order is expiry order: an entry is re-inserted (deleted first) when refreshed.
  const entries = new Map<string, { until: number; targets: Promise<string[]> }>();

  function one(userId: string, t: number): Promise<string[]> {
    const hit = entries.get(userId);
    if (hit && hit.until > t) return hit.targets;
    for (const [key, entry] of entries) {
      if (entry.until > t) break;
      entries.delete(key);
    }
    // Concurrent sends to the same user share this one lookup.
    const targets = deps.lookup([userId]);
    const entry = { until: t + deps.ttlMs, targets };
    entries.delete(userId);
    entries.set(userId, entry);
    targets.catch(() => {
      if (entries.get(userId) === entry) entries.delete(userId);
    });
    return targets;
  }

  return {
    async lookup(userIds) {
      const t = deps.now();
      if (userIds.length === 1) return one(userIds[0], t);
      const found = await Promise.all(userIds.map((u) => one(u, t)));
      return [...new Set(found.flat())];
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}

const MSG_ID = /"msgId":"(\d+)"/;
const SIGNED = /"msgType":8[,}]/;
// A recall, edit or delete frame (lib/protocol/edits.ts) names its event first, then its target
// (anywhere in the frame: something may come before it, e.g. positions).
const EVENT_ID = /"(?:recall|edit|delete)":\{"eventId":"(\d+)"/;

/**
 * The msgId of a frame sent to a connection (a chat message, a replayed one, an ack), not of a
 * read receipt: the ids a connection already has, which its catch-up does not send again.
 * JSON escapes quotes inside strings, so the patterns only match keys.
 */
export function sentMsgIdOf(text: string): string | undefined {
  if (!text.startsWith('{"chatMsg"')) {
    const event = EVENT_ID.exec(text);
    if (event) return event[1];
  }
  const m = MSG_ID.exec(text);
  return m && !SIGNED.test(text) ? m[1] : undefined;
}
