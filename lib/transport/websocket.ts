// The WebSocket transport on Bun's server: who may upgrade (origin, rate, token, capacity), each
// connection adapted to the core's Conn, frame rate limits and the idle timeout.
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { Chat } from "../core/chat.ts";
import type { FullMarks } from "../core/directory.ts";
import type { Conn } from "../core/sessions.ts";
import { everyInterval, type Logger } from "../log.ts";
import { ErrorCode } from "../protocol/frames.ts";
import type { Auth } from "./auth.ts";
import { createCapacity } from "./capacity.ts";
import { createIdleSweeper, type IdleTracked } from "./idle.ts";
import { createConnectLimiter, createFrameLimiter } from "./limits.ts";

export interface WebSocketOptions {
  chat: Chat;
  auth: Auth;
  fullMarks: FullMarks;
  log: Logger;
  /** Origins allowed to open WebSockets; ["*"] allows any. */
  allowedOrigins: string[];
  connectRatePerIp: number;
  frameRatePerConn: number;
  idleTimeoutS: number;
  maxFrameBytes: number;
  sendBufferMaxBytes: number;
  /** MAX_CONNS; undefined: the open-files limit decides. */
  maxConns: number | undefined;
  /** True from the moment a graceful stop begins. */
  draining(): boolean;
  metrics: { connectionsCap: { set(n: number): void }; upgradesRefused(reason: string): { inc(): void } };
}

export interface WsData {
  conn?: WsConn;
  authUserId?: string;
}

type WsConn = Conn & IdleTracked & { admit: () => "ok" | "limited" | "abusive"; limitedNoticeMs: number };

export type WebSocketTransport = ReturnType<typeof createWebSocketTransport>;

export function createWebSocketTransport(opts: WebSocketOptions) {
  const { chat, log } = opts;
  const connectAllowed = createConnectLimiter(opts.connectRatePerIp);
  const newLimiter = createFrameLimiter(opts.frameRatePerConn);
  const anyOrigin = opts.allowedOrigins.includes("*");
  const idle = createIdleSweeper(opts.idleTimeoutS * 1000);
  const refusedFull = everyInterval(log, "conn.refused_full");
  const capacity = createCapacity({
    maxConns: opts.maxConns,
    onCap: (cap) => opts.metrics.connectionsCap.set(cap),
    onFull(full) {
      log.info(full ? "capacity.full" : "capacity.available", { connections: chat.connectionCount, cap: capacity.cap });
      opts.fullMarks.set(full);
    },
  });
  if (opts.maxConns !== undefined && opts.maxConns > capacity.cap) {
    log.warn("capacity.max_conns_above_limit", { maxConns: opts.maxConns, cap: capacity.cap, message: "MAX_CONNS is above what the open-files limit allows: raise the limit (ulimit -n, LimitNOFILE=)" });
  }

  /** Past the cap: 503 and the connection closed, so a full instance keeps descriptors for the rest. */
  function refuseFull(): Response {
    opts.metrics.upgradesRefused("full").inc();
    refusedFull({ connections: chat.connectionCount, cap: capacity.cap });
    return new Response("this instance is full: ask getNettyOnlineInfo for another one, or retry later", {
      status: 503,
      headers: { connection: "close", "retry-after": "5" },
    });
  }

  /** Origin, per-address rate and token checks before an upgrade; a Response refuses it. */
  async function admit(req: Request, address: string): Promise<Response | { authUserId?: string }> {
    const origin = req.headers.get("origin");
    if (origin && !anyOrigin && !opts.allowedOrigins.includes(origin)) {
      return new Response(`origin ${origin} is not allowed (ALLOWED_ORIGINS)`, { status: 403 });
    }
    if (!connectAllowed(address)) {
      return new Response(`more than ${opts.connectRatePerIp} new connections a second from ${address}: retry later`, { status: 429 });
    }
    if (!opts.auth.enabled) return {};
    const result = await opts.auth.verify(new URL(req.url).searchParams.get("token"));
    if (!result.ok) {
      log.warn("auth.upgrade_refused", { address, reason: result.reason });
      return new Response(`unauthorized: ${result.reason}`, { status: 401 });
    }
    return { authUserId: result.userId };
  }

  /** Applies the frame rate limit: notifies at most once a second, closes on sustained abuse. */
  function admitted(conn: WsConn): boolean {
    const verdict = conn.admit();
    if (verdict === "ok") return true;
    if (verdict === "abusive") {
      log.warn("conn.rate_abuse", { conn: conn.id });
      conn.close(1008, "rate limit exceeded");
      return false;
    }
    const now = Date.now();
    if (now - conn.limitedNoticeMs >= 1000) {
      conn.limitedNoticeMs = now;
      chat.refuse(conn, ErrorCode.RATE_LIMITED, `more than ${opts.frameRatePerConn} frames a second: this frame was dropped, slow down`);
    }
    return false;
  }

  const websocket: WebSocketHandler<WsData> = {
    maxPayloadLength: opts.maxFrameBytes,
    // A client that stops reading is disconnected once this much is queued for it, instead of
    // growing the server's memory (or dropping frames silently); it reconnects and replays.
    backpressureLimit: opts.sendBufferMaxBytes,
    closeOnBackpressureLimit: true,
    // The idle sweeper enforces IDLE_TIMEOUT_S; uWebSockets' timer is only a coarse backstop.
    idleTimeout: Math.min(960, opts.idleTimeoutS * 2 + 8),
    sendPings: false,
    open(ws) {
      const conn = wrap(ws, newLimiter());
      ws.data.conn = conn;
      idle.add(conn);
      chat.open(conn);
      capacity.changed(chat.connectionCount);
    },
    message(ws, data) {
      const conn = ws.data.conn!;
      conn.lastSeenMs = Date.now();
      if (!admitted(conn)) return;
      if (typeof data === "string") void chat.message(conn, data);
      else chat.refuse(conn, ErrorCode.BAD_FRAME, "binary frames are not supported: send JSON text frames");
    },
    pong(ws) {
      ws.data.conn!.lastSeenMs = Date.now();
    },
    close(ws) {
      const conn = ws.data.conn;
      if (!conn) return;
      idle.delete(conn);
      chat.close(conn);
      capacity.changed(chat.connectionCount);
    },
  };

  return {
    websocket,
    /** Answers a request to /ws: upgrades it, or refuses it with a status that says why. */
    async upgrade(req: Request, server: Server<WsData>): Promise<Response | undefined> {
      if (opts.draining()) return new Response("not accepting connections: this instance is stopping", { status: 503 });
      if (!capacity.admits(chat.connectionCount)) return refuseFull();
      const admitted = await admit(req, server.requestIP(req)?.address ?? "unknown");
      if (admitted instanceof Response) return admitted;
      if (server.upgrade(req, { data: { authUserId: admitted.authUserId } })) return undefined;
      return new Response("WebSocket upgrade expected", { status: 426 });
    },
    stop: () => idle.stop(),
  };
}

function wrap(ws: ServerWebSocket<WsData>, admit: WsConn["admit"]): WsConn {
  return {
    id: crypto.randomUUID(),
    authUserId: ws.data.authUserId,
    lastSeenMs: 0,
    admit,
    limitedNoticeMs: 0,
    send: (text) => ws.send(text) > 0,
    close: (code, reason) => ws.close(code, reason),
    ping: () => void ws.ping(),
  };
}
