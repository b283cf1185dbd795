// Cluster membership rules: what this instance does when another leaves, when it was registered
// again, and when the session routes may have lost entries; and whether route lookups are trusted.
import { createInFlight } from "../in-flight.ts";
import type { Logger } from "../log.ts";
import type { InstanceEvents, PortLease, SessionRoutes } from "./ports.ts";
import { CATCH_UP_LOOKBACK_MS } from "./route-cache.ts";

/** How long lookups are not trusted while the instances rebuild their routes. */
export const ROUTES_REBUILD_GRACE_MS = 10_000;

export interface MembershipDeps {
  instanceId: string;
  events: InstanceEvents;
  routes: SessionRoutes;
  lease: PortLease;
  /** This instance's bound connections, as [userId, connId], and how many there are. */
  sessions: { routes(): Iterable<readonly [string, string]>; readonly onlineCounts: number };
  log: Logger;
  now?: () => number;
  /** Audit period (0: the caller runs `audit()` itself). Default 2 500. */
  auditEveryMs?: number;
  /** Sends every local connection what was stored for its user since `sinceMs` (lib/core/catch-up.ts). */
  catchUpAll(sinceMs: number): void;
  /** The registry was lost: each connection keeps the positions it has, where catchUpAll starts (lib/core/catch-up.ts). */
  registryLost?(): void;
  /** Users a departed instance held, once its routes are purged (presence: lib/core/presence.ts). */
  usersGone?(userIds: readonly string[]): void;
}

export type Membership = ReturnType<typeof createMembership>;

/**
 * - Another instance left: its routes are purged and its port freed. It may only have lost its
 *   registry session and still serve its users, so lookups are distrusted (frames are broadcast;
 *   its queue still gets them) until it re-registers and rebuilds.
 * - This instance was registered again, or the routes' store reconnected (possibly empty): its
 *   port and routes are written again; after a reconnect every instance rebuilds, so distrust too.
 *   Registered again after a lost session, its connections are caught up from when it was lost.
 * - The audit: routes can also vanish with the connection up (FLUSHDB, eviction, a failover to a
 *   replica that lacked them). Two audits in a row that find this instance's routes or port
 *   missing (connections coming and going in between do not count) distrust and rebuild.
 */
export function createMembership(deps: MembershipDeps) {
  const { routes, lease, log } = deps;
  const now = deps.now ?? Date.now;
  const work = createInFlight();
  let distrustedUntil = 0;
  let disagreements = 0;
  let closed = false;

  function distrustFor(ms: number, why: string): void {
    const until = now() + ms;
    if (until <= distrustedUntil) return;
    if (distrustedUntil <= now()) log.info("routes.distrusted", { why, forMs: ms });
    distrustedUntil = until;
  }

  function resync(why: string): Promise<void> {
    // Stopping: the port is about to be released and the routes removed; writing them back now could
    // land after that and leave a port and routes of an instance that is gone.
    if (closed) return Promise.resolve();
    return work.track(
      Promise.all([lease.renew(), routes.rebuild(deps.sessions.routes())]).then(
        () => log.info("routes.rebuilt", { why }),
        (err) => log.warn("routes.rebuild_failed", { why, err }),
      ),
    );
  }

  deps.events.onInstanceGone(({ instanceId, port }) => {
    if (instanceId === deps.instanceId || closed) return; // our own old registration after a session expiry; or stopping
    distrustFor(ROUTES_REBUILD_GRACE_MS, `instance ${instanceId} left`);
    void work.track(lease.releaseOther(port).catch((err) => log.warn("port.release_failed", { port, err })));
    // Its users are read before the purge and checked after it: offline unless held elsewhere. They
    // may also have missed messages from now on (routed nowhere once this grace is over): the purge
    // marks them, and a device that reconnects replays from the mark, whatever newer message that
    // instance gave it.
    const missedSince = now() - CATCH_UP_LOOKBACK_MS;
    const purged = routes.usersOf(instanceId).then(async (users) => {
      await routes.purgeInstance(instanceId, missedSince);
      if (users.length) deps.usersGone?.([...new Set(users)]);
    });
    void work.track(purged.catch((err) => log.warn("routes.purge_failed", { instance: instanceId, err })));
  });
  // Registered again after a lost session: while this instance was out of the others' view, they
  // acked its users' messages and routed them nowhere (they are in the store). Once the routes are
  // back, every local connection is caught up from when the registry was lost.
  deps.events.onRegistered(({ lostSince }) => {
    if (closed) return;
    const resynced = resync("registered again");
    if (lostSince !== undefined) void work.track(resynced.then(() => closed || deps.catchUpAll(lostSince)));
  });
  deps.events.onLost?.(() => closed || deps.registryLost?.());
  routes.onReset(() => {
    distrustFor(ROUTES_REBUILD_GRACE_MS, "the routes' store reconnected");
    void resync("the routes' store reconnected");
  });

  async function audit(): Promise<void> {
    let held: boolean;
    let recorded: number;
    try {
      [recorded, held] = await Promise.all([routes.ownCount(), lease.isHeld()]);
    } catch {
      return; // the store is down: its reconnect resyncs
    }
    disagreements = recorded !== deps.sessions.onlineCounts || !held ? disagreements + 1 : 0;
    if (disagreements < 2) return;
    disagreements = 0;
    distrustFor(ROUTES_REBUILD_GRACE_MS, "routes or port missing");
    await resync("routes or port missing");
  }

  const timer = deps.auditEveryMs === 0 ? undefined : setInterval(() => void audit(), deps.auditEveryMs ?? 2500);
  timer?.unref?.();

  return {
    /** False while lookups may miss entries of instances still rebuilding theirs. */
    routesTrusted: () => now() >= distrustedUntil,
    /** One audit now (tests; the timer runs it every `auditEveryMs`). */
    audit,
    /** Resolves once the purges and rebuilds under way are done. */
    idle: () => work.idle(),
    /** Stops the audit and the rebuilds, and resolves once those under way are done (before the port is released). */
    close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      return work.idle();
    },
  };
}
