// Composition of one instance: adapters -> chat core -> Hono app -> Bun.serve -> graceful stop.
import type { Server, ServerWebSocket } from "bun";
import { createChat, type Chat } from "./core/chat.ts";
import { checkPrivilegedPort, type Config } from "./config.ts";
import { createAdapters, type Adapters } from "./adapters/standalone.ts";
import { createHttpApp } from "./transport/http/app.ts";
import type { Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./adapters/metrics.ts";
import { instanceIdOf } from "./core/registry.ts";
import type { Conn } from "./core/sessions.ts";
import { createSnowflake } from "./protocol/snowflake.ts";
import { createIdleSweeper, type IdleTracked } from "./transport/idle.ts";
import { createAuth } from "./transport/auth.ts";
import { createConnectLimiter } from "./transport/limits.ts";
import { createCapacity } from "./transport/capacity.ts";
import { everyInterval } from "./log.ts";

interface WsData {
  conn?: Conn & IdleTracked;
  authUserId?: string;
}

export interface Instance {
  readonly port: number;
  readonly instanceId: string;
  readonly chat: Chat;
  /** Graceful stop: stop advertising, close clients with 1001, finish writes, release everything. */
  stop(): Promise<void>;
}

/** Binds the port (allocating it in cluster mode) and starts serving. */
export async function startInstance(config: Config, log: Logger): Promise<Instance> {
  const metrics = createMetrics();
  const auth = createAuth(config.authSecret);
  const connectAllowed = createConnectLimiter(config.connectRatePerIp);
  const anyOrigin = config.allowedOrigins.includes("*");

  /** Origin, per-address rate and token checks before a WebSocket upgrade; a Response refuses it. */
  async function admitUpgrade(req: Request, address: string): Promise<Response | { authUserId?: string }> {
    const origin = req.headers.get("origin");
    if (origin && !anyOrigin && !config.allowedOrigins.includes(origin)) {
      return new Response(`origin ${origin} is not allowed (ALLOWED_ORIGINS)`, { status: 403 });
    }
    if (!connectAllowed(address)) {
      return new Response(`more than ${config.connectRatePerIp} new connections a second from ${address}: retry later`, { status: 429 });
    }
    if (!auth.enabled) return {};
    const result = await auth.verify(new URL(req.url).searchParams.get("token"));
    if (!result.ok) {
      log.warn("auth.upgrade_refused", { address, reason: result.reason });
      return new Response(`unauthorized: ${result.reason}`, { status: 401 });
    }
    return { authUserId: result.userId };
  }
  let chat: Chat | undefined;
  let app: ReturnType<typeof createHttpApp> | undefined;
  let fullMarks: Adapters["fullMarks"] | undefined;
  const capacity = createCapacity({
    maxConns: config.maxConns,
    onCap: (cap) => metrics.connectionsCap.set(cap),
    onFull(full) {
      log.info(full ? "capacity.full" : "capacity.available", { connections: chat?.connectionCount, cap: capacity.cap });
      fullMarks?.set(full);
    },
  });
  const refusedFull = everyInterval(log, "conn.refused_full");
  /** Past the cap: 503 and the connection closed, so a full instance keeps descriptors for the rest. */
  function refuseFull(): Response {
    metrics.upgradesRefused.inc({ reason: "full" });
    refusedFull({ connections: chat?.connectionCount, cap: capacity.cap });
    return new Response("this instance is full: ask getNettyOnlineInfo for another one, or retry later", {
      status: 503,
      headers: { connection: "close", "retry-after": "5" },
    });
  }
  let draining = false;
  const idle = createIdleSweeper(config.idleTimeoutS * 1000);

  const serve = (port: number): Server<WsData> =>
    Bun.serve<WsData>({
      port,
      hostname: config.bindHost,
      async fetch(req, server) {
        const path = req.url.slice(req.url.indexOf("/", 8)).split("?")[0];
        if (path === "/ws") {
          if (!chat || draining) return new Response("not accepting connections", { status: 503 });
          if (!capacity.admits(chat.connectionCount)) return refuseFull();
          const refused = await admitUpgrade(req, server.requestIP(req)?.address ?? "unknown");
          if (refused instanceof Response) return refused;
          if (server.upgrade(req, { data: { authUserId: refused.authUserId } })) return undefined;
          return new Response("WebSocket upgrade expected", { status: 426 });
        }
        if (!app) return new Response("starting", { status: 503 });
        return app.fetch(req);
      },
      websocket: {
        maxPayloadLength: config.maxFrameBytes,
        // A client that stops reading is disconnected once this much is queued for it, instead of
        // growing the server's memory (or dropping frames silently); it reconnects and replays.
        backpressureLimit: config.sendBufferMaxBytes,
        closeOnBackpressureLimit: true,
        // The idle sweeper enforces IDLE_TIMEOUT_S; uWebSockets' timer is only a coarse backstop.
        idleTimeout: Math.min(960, config.idleTimeoutS * 2 + 8),
        sendPings: false,
        open(ws) {
          const conn = wrap(ws);
          ws.data.conn = conn;
          idle.add(conn);
          chat!.open(conn);
          capacity.changed(chat!.connectionCount);
        },
        message(ws, data) {
          const conn = ws.data.conn!;
          conn.lastSeenMs = Date.now();
          if (typeof data === "string") void chat!.message(conn, data);
          else chat!.binary(conn);
        },
        pong(ws) {
          ws.data.conn!.lastSeenMs = Date.now();
        },
        close(ws) {
          const conn = ws.data.conn;
          if (!conn) return;
          idle.delete(conn);
          chat!.close(conn);
          capacity.changed(chat!.connectionCount);
        },
      },
    });

  const { server, adapters } = await bind(config, log, metrics, serve);
  const port = server.port!;
  const self = { ip: config.hostIp, port };
  const instanceId = instanceIdOf(self);
  const ilog = log.child({ instance: instanceId });
  const { registry, bus, routes, store, unread, marks, groups } = adapters;
  fullMarks = adapters.fullMarks;
  if (config.maxConns !== undefined && config.maxConns > capacity.cap) {
    ilog.warn("capacity.max_conns_above_limit", { maxConns: config.maxConns, cap: capacity.cap, message: "MAX_CONNS is above what the open-files limit allows: raise the limit (ulimit -n, LimitNOFILE=)" });
  }

  const ids = createSnowflake(() => registry.workerId);
  chat = createChat(
    { instanceId, registry, bus, routes, store, unread, marks, groups, ids, log: ilog, metrics },
    {
      routing: config.routing,
      replayMax: config.replayMax,
      frameRatePerS: config.frameRatePerConn,
      maxConnsPerUser: config.maxConnsPerUser,
      maxMsgChars: config.maxMsgChars,
    },
  );
  bus.onFrame((frame) => chat!.deliverRemote(frame));
  adapters.setLocalSessions(chat.sessions);
  app = createHttpApp({
    registry, fullMarks, store, unread, metrics, auth, groups, log: ilog,
    adminToken: config.adminToken,
    newGroupId: () => ids.next(),
    broadcast: (text) => chat!.broadcast(text),
    allowedOrigins: config.allowedOrigins,
    checks: adapters.checks,
    self: () => ({ ...self, onlineCounts: chat!.sessions.onlineCounts }),
    draining: () => draining,
  });
  ilog.info("instance.started", { mode: config.mode, port, routing: config.routing, workerId: registry.workerId });

  let stopping: Promise<void> | undefined;
  return {
    port,
    instanceId,
    chat,
    stop() {
      stopping ??= (async () => {
        draining = true;
        ilog.info("instance.stopping", { connections: chat!.connectionCount });
        await registry.drain().catch((err) => ilog.warn("registry.drain_failed", { err }));
        // Still listening: upgrades get 503 and /health says "draining" until the end.
        chat!.closeAll(1001, "server shutting down");
        await Bun.sleep(50); // let close handlers run so counts and routes are final
        await chat!.idle();
        await adapters.close();
        idle.stop();
        server.stop(true);
        ilog.info("instance.stopped");
      })();
      return stopping;
    },
  };
}

function wrap(ws: ServerWebSocket<WsData>): Conn & IdleTracked {
  return {
    id: crypto.randomUUID(),
    authUserId: ws.data.authUserId,
    lastSeenMs: 0,
    send: (text) => ws.send(text) > 0,
    close: (code, reason) => ws.close(code, reason),
    ping: () => void ws.ping(),
  };
}

/** Standalone binds PORT or PORT_BASE; cluster takes PORT or allocates from Redis, skipping ports that fail. */
async function bind(
  config: Config,
  log: Logger,
  metrics: Metrics,
  serve: (port: number) => Server<WsData>,
): Promise<{ server: Server<WsData>; adapters: Adapters }> {
  return createAdapters(config, log, metrics, (port) => {
    checkPrivilegedPort(port);
    return serve(port);
  });
}
