// Delivery: hands a frame to the connections here and to the instances that hold its audience.
import type { MessageBus } from "./bus.ts";
import { failureStreak, type Logger } from "../log.ts";
import type { Metrics } from "../adapters/metrics.ts";
import { decodeValue } from "../protocol/frames.ts";
import type { SessionRoutes } from "./session-routes.ts";
import { sendTo, type LocalSessions } from "./sessions.ts";

/** Who gets a frame: a 1:1 pair (receiver, and the sender's devices), a group's members, or everyone. */
export type Audience =
  | { kind: "pair"; receiverId: string; senderId: string }
  | { kind: "members"; userIds: readonly string[] }
  | { kind: "everyone" };

export interface DeliveryDeps {
  instanceId: string;
  sessions: LocalSessions;
  routes: SessionRoutes;
  bus: MessageBus;
  metrics: Metrics;
  log: Logger;
  routing: "direct" | "fanout";
}

/**
 * On the bus a 1:1 frame is the plain DataContent (what seed instances read on fanout_exchange);
 * a group or broadcast frame carries one more field, `to` (member ids, or "*"), which the
 * receiving instance strips before sending it on to clients.
 */
export function createDelivery(deps: DeliveryDeps) {
  const { sessions, metrics, log } = deps;
  const inFlight = new Set<Promise<unknown>>();
  let routesFailing = false;
  const publishes = failureStreak(log, "bus.publish_failed");

  function local(audience: Audience, except: string | null | undefined, text: string, origin: "local" | "remote"): void {
    const send = (userId: string) => {
      for (const s of sessions.connsOf(userId) ?? []) {
        if (s.conn.id === except) continue;
        sendTo(s, text);
        metrics.delivered.inc({ origin });
      }
    };
    if (audience.kind === "everyone") for (const userId of sessions.users()) send(userId);
    else if (audience.kind === "members") for (const userId of audience.userIds) send(userId);
    else {
      send(audience.receiverId);
      if (audience.senderId !== audience.receiverId) send(audience.senderId);
    }
  }

  /** Which instances, other than this one, hold the audience ("all" to broadcast). */
  async function targetsOf(audience: Audience): Promise<readonly string[] | "all"> {
    if (deps.routing === "fanout" || audience.kind === "everyone") return "all";
    try {
      const users = audience.kind === "pair" ? [audience.receiverId, audience.senderId] : audience.userIds;
      const targets = (await deps.routes.lookup(users)).filter((id) => id !== deps.instanceId);
      if (routesFailing) log.info("routes.lookup_recovered");
      routesFailing = false;
      return targets;
    } catch (err) {
      // Without session routes (Redis down), broadcast: every instance delivers to whom it holds.
      if (!routesFailing) log.warn("routes.lookup_failed_broadcasting", { err });
      routesFailing = true;
      return "all";
    }
  }

  function busText(audience: Audience, text: string): string {
    if (audience.kind === "pair") return text;
    const to = audience.kind === "everyone" ? '"*"' : JSON.stringify(audience.userIds);
    return `${text.slice(0, -1)},"to":${to}}`;
  }

  return {
    /**
     * Delivers `text` (a DataContent) here at once, then hands it to the instances that hold the
     * audience; resolves true once the broker accepted it (false when it could not: do not ack).
     * Lookups resolve in the order they were issued (one Redis connection): publishes keep order.
     */
    route(audience: Audience, except: string, text: string, msgId?: string | null): Promise<boolean> {
      local(audience, except, text, "local");
      const job = (async () => {
        const targets = await targetsOf(audience);
        if (targets.length === 0) return true;
        metrics.busPublished.inc({ mode: targets === "all" ? "fanout" : "direct" });
        const started = performance.now();
        await deps.bus.publish(targets, busText(audience, text));
        metrics.busPublishLatency.observe((performance.now() - started) / 1000);
        publishes.ok();
        return true;
      })().catch((err) => {
        // Stored all the same: a receiver that missed it live gets it by replay after reconnect.
        metrics.busErrors.inc();
        publishes.fail({ msgId, err });
        return false;
      });
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      return job;
    },

    /** A frame another instance published: deliver it to the connections here. */
    remote(text: string): void {
      metrics.busConsumed.inc();
      let value: any;
      try {
        value = JSON.parse(text);
      } catch {
        return log.warn("bus.bad_frame", { code: "BAD_JSON" });
      }
      const decoded = decodeValue(value);
      if (!decoded.ok) return log.warn("bus.bad_frame", { code: decoded.code });
      const { chatMsg, chatTime, extend } = decoded.frame;
      const to = value?.to;
      if (to === "*") return local({ kind: "everyone" }, extend, JSON.stringify({ chatMsg, chatTime, extend }), "remote");
      if (Array.isArray(to)) {
        const userIds = to.filter((u): u is string => typeof u === "string");
        return local({ kind: "members", userIds }, extend, JSON.stringify({ chatMsg, chatTime, extend }), "remote");
      }
      if (!chatMsg.receiverId || !chatMsg.senderId) return;
      local({ kind: "pair", receiverId: chatMsg.receiverId, senderId: chatMsg.senderId }, extend, text, "remote");
    },

    /** Resolves once every delivery under way was handed to the bus. */
    async idle(): Promise<void> {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
