// Presence: whether a user is online on any device of any instance, and when it was last seen;
// subscriptions of connections to users, and the online/offline events they get. A user goes
// offline once its last device is gone cluster-wide and a grace has passed without a reconnect.
import { failureStreak, type Logger } from "../log.ts";
import { encodePresence, type Presence } from "../protocol/features.ts";
import { ErrorCode } from "../protocol/frames.ts";
import type { Envelope, PresenceStore } from "./ports.ts";
import { refuse } from "./refusal.ts";
import { sendTo, type ConnState, type LocalSessions } from "./sessions.ts";

export interface PresenceDeps {
  presence: PresenceStore;
  sessions: LocalSessions;
  /** Hands an envelope to the connections here and to the instances `targets`. */
  routeTo(envelope: Envelope, targets: readonly string[]): Promise<boolean>;
  log: Logger;
  now: () => number;
  schedule(fn: () => void, ms: number): void;
  /** Tracks background work, so that a stop waits for it. */
  track(work: Promise<void>): void;
  /** How long a user whose last device left stays online, so that a reconnect does not flap (ms). */
  graceMs: number;
  /** Users one connection may watch at once. */
  maxSubscriptions: number;
}

export type PresenceCore = ReturnType<typeof createPresence>;

export function createPresence(deps: PresenceDeps) {
  const { sessions, log } = deps;
  const writes = failureStreak(log, "presence.write_failed");
  /** userId → connections here watching it. */
  const watchers = new Map<string, Set<ConnState>>();
  /** userId → when its last device here left, while its offline check is due. */
  const leaving = new Map<string, number>();

  /** Tells the watchers here and on `instances` (none of them: nothing is published). */
  function announce(p: Presence, instances: readonly string[]): Promise<boolean> {
    return deps.routeTo({ audience: { kind: "watchers", userId: p.userId }, frame: encodePresence(p), feature: "presence" }, instances);
  }

  /** Records in the store whether this instance watches `userId` (tracked; a failure is logged). */
  function watch(userId: string, watching: boolean): Promise<void> {
    const work = deps.presence.watch(userId, watching).then(writes.ok, (err) => writes.fail({ err }));
    deps.track(work);
    return work;
  }

  function markOnline(userId: string): void {
    deps.track(
      deps.presence.markOnline(userId, deps.now()).then(
        ({ changed, watchers }) => {
          writes.ok();
          if (changed) return void announce({ userId, online: true, lastSeen: null }, watchers);
        },
        (err) => writes.fail({ err }),
      ),
    );
  }

  function unwatchHere(userId: string, state: ConnState): void {
    const set = watchers.get(userId);
    if (set?.delete(state) && set.size === 0) {
      watchers.delete(userId);
      void watch(userId, false);
    }
  }

  async function checkGone(userId: string, at: number): Promise<void> {
    try {
      const { changed, watchers } = await deps.presence.markOfflineIfGone(userId, at);
      if (changed) await announce({ userId, online: false, lastSeen: at }, watchers);
      writes.ok();
    } catch (err) {
      writes.fail({ err });
    }
  }

  function runCheck(userId: string, at: number): void {
    if (leaving.get(userId) !== at) return; // back meanwhile, or a later leave has its own check
    leaving.delete(userId);
    if (sessions.connsOf(userId)) return;
    deps.track(checkGone(userId, at));
  }

  return {
    /** The first connection of `userId` here was bound and its route written. */
    userBound(userId: string): void {
      leaving.delete(userId);
      markOnline(userId);
    },

    /** The last connection of `userId` here is gone: offline after the grace, unless it is back somewhere. */
    userLeft(userId: string): void {
      const at = deps.now();
      leaving.set(userId, at);
      deps.schedule(() => runCheck(userId, at), deps.graceMs);
    },

    /** Users of an instance that left the cluster, once its routes were purged: offline unless held elsewhere. */
    usersGone(userIds: readonly string[]): void {
      const at = deps.now();
      for (const userId of userIds) if (!sessions.connsOf(userId)) deps.track(checkGone(userId, at));
    },

    /** Runs every offline check still due (a stopping instance, once its grace has passed). */
    flush(): void {
      for (const [userId, at] of [...leaving]) runCheck(userId, at);
    },

    /** True while an offline check is due. */
    get pending(): boolean {
      return leaving.size > 0;
    },

    /**
     * Changes what `state` watches; past `maxSubscriptions` nothing changes and LIMIT_EXCEEDED is
     * thrown. Each newly watched user's state is sent at once (events follow it).
     */
    async subscribe(state: ConnState, add: readonly string[], remove: readonly string[]): Promise<void> {
      const watching = (state.watching ??= new Set());
      const next = new Set(watching);
      for (const u of remove) next.delete(u);
      const fresh = add.filter((u) => !next.has(u));
      for (const u of fresh) next.add(u);
      if (next.size > deps.maxSubscriptions) {
        refuse(ErrorCode.LIMIT_EXCEEDED, `a connection may watch at most ${deps.maxSubscriptions} users' presence (this frame would make it ${next.size}): unsubscribe some first`);
      }
      for (const u of remove) if (watching.delete(u)) unwatchHere(u, state);
      const firstHere: Promise<void>[] = [];
      for (const u of fresh) {
        watching.add(u);
        let set = watchers.get(u);
        if (!set) {
          watchers.set(u, (set = new Set()));
          firstHere.push(watch(u, true));
        }
        set.add(state);
      }
      if (fresh.length === 0) return;
      // Watched before the state is read: a change after the read reaches this connection as an event.
      await Promise.all(firstHere);
      for (const p of await deps.presence.query(fresh)) sendTo(state, encodePresence(p));
    },

    /** The connections here watching `userId`. */
    watchersOf: (userId: string): Iterable<ConnState> => watchers.get(userId) ?? [],

    /** A closed connection watches nothing any more. */
    dropConn(state: ConnState): void {
      for (const u of state.watching ?? []) unwatchHere(u, state);
      state.watching = undefined;
    },

    /**
     * Writes again what this instance knows (the store reconnected and may have lost it): every
     * user watched here, and every user online here (announced, if the store had lost it).
     */
    resync(): void {
      for (const u of watchers.keys()) void watch(u, true);
      for (const u of sessions.users()) markOnline(u);
    },

    query: (userIds: readonly string[]) => deps.presence.query(userIds),
  };
}
