// Composition of one instance: adapters -> chat core and cluster rules -> transports -> Bun.serve ->
// advertised; a graceful stop undoes it in reverse. server.ts runs it; tests run it in-process.
import { createMetrics } from "./adapters/metrics.ts";
import { createStandaloneAdapters } from "./adapters/standalone.ts";
import { createWebhooks } from "./adapters/webhooks.ts";
import type { Config } from "./config.ts";
import { createChat, type Chat } from "./core/chat.ts";
import { createMembership } from "./core/membership.ts";
import type { Logger } from "./log.ts";
import { createSnowflake } from "./protocol/snowflake.ts";
import { createAuth } from "./transport/auth.ts";
import { createHttpApp } from "./transport/http/app.ts";
import { createWebSocketTransport, type WsData } from "./transport/websocket.ts";

export interface Instance {
  readonly port: number;
  readonly instanceId: string;
  readonly chat: Chat;
  /** Graceful stop: stop advertising, close clients with 1001, finish writes, release everything. */
  stop(): Promise<void>;
}

/** Creates the adapters (a cluster instance takes its port from Redis), the core, and starts serving. */
export async function startInstance(config: Config, log: Logger): Promise<Instance> {
  const metrics = createMetrics();
  // The cluster's modules (and their clients' packages) load only in cluster mode.
  const adapters =
    config.mode === "cluster"
      ? await (await import("./adapters/cluster.ts")).createClusterAdapters(config, log, metrics)
      : await createStandaloneAdapters(config, log, metrics);
  const { instanceId, lease, self } = adapters;
  const ilog = adapters.log;
  const ids = createSnowflake(adapters.workerId);
  let draining = false;

  const webhooks = config.webhook && createWebhooks({ ...config.webhook, routes: adapters.routes, log: ilog });
  const chat = createChat(
    { ...adapters, log: ilog, metrics: metrics.core, ids, routesTrusted: () => membership.routesTrusted(), hooks: webhooks },
    {
      routing: config.routing, replayMax: config.replayMax, maxConnsPerUser: config.maxConnsPerUser, maxMsgChars: config.maxMsgChars, redeliverResends: config.mode === "cluster",
      routeCacheMs: config.mode === "cluster" ? config.routeCacheMs : 0,
      storeTimeoutMs: config.storeTimeoutMs,
      presenceGraceMs: config.presenceGraceMs,
      presenceSubscriptionsMax: config.presenceSubscriptionsMax,
      typingRatePerConn: config.typingRatePerConn,
      editWindowMs: config.editWindowMs,
    },
  );
  const membership = createMembership({
    instanceId, events: adapters.events, routes: adapters.routes, lease, sessions: chat.sessions, log: ilog,
    catchUpAll: (sinceMs) => chat.catchUpAll(sinceMs),
    registryLost: () => chat.registryLost(),
    usersGone: (userIds) => chat.usersGone(userIds),
  });
  adapters.bus.onEnvelope(chat.deliverRemote);
  adapters.routes.onReset(() => chat.resyncPresence()); // presence lives in the same store as the routes
  metrics.watch({ checks: adapters.checks, routesTrusted: () => membership.routesTrusted() });

  const auth = createAuth(config.authSecret);
  const ws = createWebSocketTransport({ ...config, chat, auth, fullMarks: adapters.fullMarks, log: ilog, metrics, draining: () => draining });
  const app = createHttpApp({
    ...adapters,
    auth,
    log: ilog,
    allowedOrigins: config.allowedOrigins,
    adminToken: config.adminToken,
    newGroupId: () => ids.next(),
    sign: (msgId, signer) => chat.sign(msgId, signer),
    broadcast: (text) => chat.broadcast(text),
    sendAs: (senderId, chatMsg) => chat.sendAs(senderId, chatMsg),
    presenceOf: (userIds) => chat.presenceOf(userIds),
    editAs: (userId, request) => chat.editAs(userId, request),
    markGroupRead: (userId, groupId, msgId) => chat.markGroupRead(userId, groupId, msgId),
    whoRead: (userId, groupId, msgId) => chat.whoRead(userId, groupId, msgId),
    readState: (userId, groupId, page, pageSize) => chat.readState(userId, groupId, page, pageSize),
    presenceQueryMax: config.presenceQueryMax,
    self: () => ({ ...self, onlineCounts: chat.sessions.onlineCounts }),
    draining: () => draining,
    metricsText: () => metrics.text(),
  });

  let server;
  try {
    lease.unhold?.(); // bound since it was leased: bound again by the server in this same turn
    server = Bun.serve<WsData>({
      port: lease.port,
      hostname: config.bindHost,
      fetch(req, srv) {
        const path = req.url.slice(req.url.indexOf("/", 8)).split("?")[0];
        return path === "/ws" ? ws.upgrade(req, srv) : app.fetch(req);
      },
      websocket: ws.websocket,
    });
    await adapters.advertise();
    if (adapters.orphanedUsers?.length) chat.usersGone([...new Set(adapters.orphanedUsers)]);
  } catch (err) {
    lease.unhold?.();
    server?.stop(true);
    ws.stop();
    await membership.close();
    await adapters.close();
    throw err;
  }
  ilog.info("instance.started", { mode: config.mode, port: lease.port, routing: config.routing, workerId: adapters.workerId() });

  let stopping: Promise<void> | undefined;
  return {
    port: lease.port,
    instanceId,
    chat,
    stop() {
      stopping ??= (async () => {
        draining = true;
        ilog.info("instance.stopping", { connections: chat.connectionCount });
        await adapters.drain().catch((err) => ilog.warn("registry.drain_failed", { err }));
        // Still listening: upgrades get 503 and /health says "draining" until the end.
        chat.closeAll(1001, "server shutting down");
        await Bun.sleep(50); // let close handlers run so counts and routes are final
        await chat.idle();
        // Users who do not come back elsewhere within the grace are announced offline before the bus closes.
        await chat.settlePresence(Math.min(config.presenceGraceMs, config.shutdownTimeoutMs / 2));
        webhooks?.close();
        await membership.close();
        await adapters.close();
        ws.stop();
        server.stop(true);
        ilog.info("instance.stopped");
      })();
      return stopping;
    },
  };
}
