// The HTTP API (Hono): load-balancing route, health, metrics, history, unread counters, signRead.
import { Hono, type Context } from "hono";
import { serveStatic } from "hono/bun";
import { join, relative } from "node:path";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { leastLoaded, type InstanceRegistry } from "./registry.ts";
import type { MessageStore } from "./store.ts";
import type { UnreadCounters } from "./unread.ts";

/** An error that knows its HTTP status; its message is shown to the caller. */
export class HttpError extends Error {
  constructor(readonly status: ContentfulStatusCode, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** The seed's GraceJSONResult body. */
export function grace(c: Context, data: unknown, status: ContentfulStatusCode = 200, msg = "OK") {
  return c.json({ status, msg, success: status < 400, data }, status);
}

export interface HttpDeps {
  registry: InstanceRegistry;
  store: MessageStore;
  unread: UnreadCounters;
  metrics: Metrics;
  log: Logger;
  /** Named checks for /health, e.g. `{ store: () => store.health() }`; each answers "ok" or a reason. */
  checks: Record<string, () => Promise<string>>;
  /** This instance as advertised, with its live count. */
  self: () => { ip: string; port: number; onlineCounts: number };
  /** True from the moment a graceful stop begins. */
  draining: () => boolean;
}

const ID = /^[^\u0000-\u001f\u007f]{1,64}$/;

function userParam(c: Context, name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new HttpError(400, `parameter ${name} is required`);
  if (!ID.test(value)) throw new HttpError(400, `parameter ${name} must be a user id of 1–64 characters`);
  return value;
}

function intParam(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value)) throw new HttpError(400, `parameter ${name} must be a whole number from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new HttpError(400, `parameter ${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Builds the Hono app; `server.ts` mounts it beside the WebSocket endpoint. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof HttpError) return grace(c, null, err.status, err.message);
    deps.log.error("http.failed", { path: c.req.path, err });
    return grace(c, null, 503, "the server could not answer: a dependency may be down, try again shortly");
  });
  app.notFound((c) => grace(c, null, 404, `no route ${c.req.method} ${c.req.path}`));

  const onlineInfo = (c: Context) => {
    const node = leastLoaded(deps.registry.nodes());
    if (!node) throw new HttpError(503, "no chat instance is available right now: retry in a few seconds");
    return grace(c, { ip: node.ip, port: node.port, onlineCounts: node.onlineCounts });
  };
  for (const path of ["/chat/getNettyOnlineInfo", "/getNettyOnlineInfo"]) {
    app.post(path, onlineInfo);
    app.get(path, onlineInfo);
  }

  app.get("/health", async (c) => {
    const entries = await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => [name, await check().catch((e) => String(e))] as const),
    );
    const checks = Object.fromEntries(entries);
    const failing = entries.filter(([, v]) => v !== "ok").map(([k]) => k);
    const draining = deps.draining();
    const status = failing.length || draining ? 503 : 200;
    const body = {
      status: draining ? "draining" : failing.length ? "unavailable" : "ok",
      node: deps.self(),
      checks,
      ...(failing.length ? { failing } : {}),
    };
    return c.json(body, status);
  });

  app.get("/metrics", async (c) => {
    c.header("Content-Type", deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });

  // The browser chat client (client/): plain files, no build step.
  const clientRoot = relative(process.cwd(), join(import.meta.dir, "..", "client")) || ".";
  app.get("/", serveStatic({ root: clientRoot, path: "index.html" }));
  app.get("/client/*", serveStatic({ root: clientRoot, rewriteRequestPath: (p) => p.replace(/^\/client/, "") }));

  app.post("/chat/list/:senderId/:receiverId", async (c) => {
    const a = userParam(c, "senderId", c.req.param("senderId"));
    const b = userParam(c, "receiverId", c.req.param("receiverId"));
    const page = intParam("page", c.req.query("page"), 1, 1, 1_000_000);
    const pageSize = intParam("pageSize", c.req.query("pageSize"), 20, 1, 200);
    const { records, rows } = await deps.store.history(a, b, page, pageSize);
    return grace(c, { page, total: Math.ceil(records / pageSize), records, rows });
  });

  app.post("/chat/getMyUnReadCounts", async (c) => {
    const myId = userParam(c, "myId", c.req.query("myId"));
    return grace(c, await deps.unread.get(myId));
  });

  app.post("/chat/clearMyUnReadCounts", async (c) => {
    const myId = userParam(c, "myId", c.req.query("myId"));
    const oppositeId = userParam(c, "oppositeId", c.req.query("oppositeId"));
    await deps.unread.clear(myId, oppositeId);
    return grace(c, null);
  });

  app.post("/chat/signRead/:msgId", async (c) => {
    const msgId = c.req.param("msgId");
    if (!/^\d{1,20}$/.test(msgId)) throw new HttpError(400, "parameter msgId must be a decimal message id");
    if (!(await deps.store.markRead(msgId))) throw new HttpError(404, `no message ${msgId}`);
    return grace(c, null);
  });

  return app;
}
