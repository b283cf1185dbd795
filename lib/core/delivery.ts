// Delivery: hands a frame to the connections here and, as an envelope, to the instances that hold
// its audience.
import { createInFlight } from "../in-flight.ts";
import { failureStreak, type Logger } from "../log.ts";
import { positionsOnly, withSeq } from "../protocol/frames.ts";
import type { Audience, CoreMetrics, Envelope, MessageBus, SessionRoutes } from "./ports.ts";
import { FRESH_MS, type RouteCache } from "./route-cache.ts";
import { noteDelivered, sendTo, type ConnState, type LocalSessions } from "./sessions.ts";

export interface DeliveryDeps {
  instanceId: string;
  sessions: LocalSessions;
  routes: Pick<SessionRoutes, "lookup">;
  bus: MessageBus;
  metrics: CoreMetrics;
  log: Logger;
  /** "direct": publish only to instances holding the audience; "fanout": to every instance. */
  routing: "direct" | "fanout";
  /** False while route lookups may miss entries (being rebuilt): broadcast instead. */
  routesTrusted(): boolean;
  /** Lookups for messages created less than FRESH_MS ago may come from here (lib/core/route-cache.ts). */
  cache?: RouteCache;
  now: () => number;
  /** The connections here watching a user's presence (lib/core/presence.ts). */
  watchersOf?(userId: string): Iterable<ConnState>;
}

export type Delivery = ReturnType<typeof createDelivery>;

export function createDelivery(deps: DeliveryDeps) {
  const { sessions, metrics } = deps;
  const inFlight = createInFlight();
  const lookups = failureStreak(deps.log, "routes.lookup_failed_broadcasting");
  const publishes = failureStreak(deps.log, "bus.publish_failed");

  function local({ audience, except, frame, feature, seq }: Envelope, origin: "local" | "remote"): void {
    let framed: string | undefined; // with its positions, made once for the connections that declared "seq"
    let withheld: string | undefined;
    const send = (userId: string) => {
      for (const s of sessions.connsOf(userId) ?? []) {
        if (s.conn.id === except) continue;
        if (seq) noteDelivered(s, userId, seq);
        // A feature frame only to connections that declared it: a seed client never sees one. One
        // with positions (a stored event) leaves them to a connection that declared "seq".
        if (feature && !s.features?.has(feature)) {
          if (seq && s.features?.has("seq")) sendTo(s, (withheld ??= positionsOnly(seq)));
          continue;
        }
        sendTo(s, seq && s.features?.has("seq") ? (framed ??= withSeq(frame, seq)) : frame);
        metrics.delivered(origin);
      }
    };
    if (audience.kind === "watchers") {
      for (const s of deps.watchersOf?.(audience.userId) ?? []) if (s.features?.has("presence")) sendTo(s, frame);
    } else if (audience.kind === "everyone") for (const userId of sessions.users()) send(userId);
    else if (audience.kind === "members") for (const userId of audience.userIds) send(userId);
    else {
      send(audience.receiverId);
      if (audience.senderId !== audience.receiverId) send(audience.senderId);
    }
  }

  /** Which instances, other than this one, hold the audience ("all" to broadcast). */
  async function targetsOf(audience: Audience, createdAt: number | undefined): Promise<readonly string[] | "all"> {
    if (deps.routing === "fanout" || audience.kind === "everyone" || audience.kind === "watchers") return "all";
    if (!deps.routesTrusted()) {
      deps.cache?.clear();
      return "all";
    }
    try {
      const users = audience.kind === "pair" ? [audience.receiverId, audience.senderId] : audience.userIds;
      const cached = deps.cache && createdAt !== undefined && deps.now() - createdAt < FRESH_MS;
      const targets = (await (cached ? deps.cache! : deps.routes).lookup(users)).filter((id) => id !== deps.instanceId);
      lookups.ok();
      // Distrusted while the lookup was under way (its store came back empty, and answered it after
      // that was known: ioredis sends what waited only after its "ready"): broadcast instead.
      if (!deps.routesTrusted()) return "all";
      return targets;
    } catch (err) {
      // Without session routes (Redis down), broadcast: every instance delivers to whom it holds.
      lookups.fail({ err });
      return "all";
    }
  }

  async function publish(envelope: Envelope, msgId: string | undefined, createdAt: number | undefined, given?: readonly string[]): Promise<boolean> {
    try {
      const targets = given ? given.filter((id) => id !== deps.instanceId) : await targetsOf(envelope.audience, createdAt);
      if (targets.length === 0) return true;
      const started = performance.now();
      await deps.bus.publish(targets, envelope);
      metrics.published(targets === "all" ? "fanout" : "direct", (performance.now() - started) / 1000);
      publishes.ok();
      return true;
    } catch (err) {
      // Stored all the same: a receiver that missed it live gets it by replay after reconnect.
      metrics.publishFailed();
      publishes.fail({ msgId, err });
      return false;
    }
  }

  return {
    /**
     * Delivers the envelope here at once, then hands it to the instances that hold its audience;
     * resolves true once the broker accepted it (false when it could not: do not ack). Lookups
     * resolve in the order they were issued (one Redis connection): publishes keep that order.
     * `createdAt` (ms), for a message created just now, lets the route cache answer.
     */
    route(envelope: Envelope, msgId?: string, createdAt?: number): Promise<boolean> {
      local(envelope, "local");
      return inFlight.track(publish(envelope, msgId, createdAt));
    },

    /** Delivers the envelope here, then to the instances `targets` (this one skipped), with no lookup. */
    routeTo(envelope: Envelope, targets: readonly string[]): Promise<boolean> {
      local(envelope, "local");
      return inFlight.track(publish(envelope, undefined, undefined, targets));
    },

    /** An envelope another instance published: deliver it to the connections here. */
    remote(envelope: Envelope): void {
      metrics.consumed();
      local(envelope, "remote");
    },

    /** Resolves once every delivery under way was handed to the bus. */
    idle: () => inFlight.idle(),
  };
}
