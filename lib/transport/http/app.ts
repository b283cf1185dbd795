// The HTTP API (Hono): load-balancing route, health, metrics, history, unread counters, signRead.
import { Hono, type Context } from "hono";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { cors } from "hono/cors";
import type { Auth } from "../auth.ts";
import { addGroupRoutes, type GroupRouteDeps } from "./group-routes.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../adapters/metrics.ts";
import { GROUP_ID, GROUP_ID_RULE, SYSTEM_SENDER, USER_ID, USER_ID_RULE, isGroupId, isMsgId, MSG_ID_RULE } from "../../protocol/ids.ts";
import { leastLoaded, type FullMarks, type InstanceRegistry } from "../../core/registry.ts";
import { StoreRefusedError, type MessageStore } from "../../core/store.ts";
import { hasControl } from "../../protocol/values.ts";
import type { UnreadCounters } from "../../core/unread.ts";

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

export interface HttpDeps extends Omit<GroupRouteDeps, "authEnabled"> {
  auth: Auth;
  /** CORS: origins allowed to call the API from a browser; ["*"] allows any. */
  allowedOrigins: string[];
  registry: InstanceRegistry;
  fullMarks: FullMarks;
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


function userParam(c: Context, name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new HttpError(400, `parameter ${name} is required`);
  if (!USER_ID.test(value)) throw new HttpError(400, `parameter ${name} must be a user id of ${USER_ID_RULE}`);
  return value;
}

function intParam(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value)) throw new HttpError(400, `parameter ${name} must be a whole number from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new HttpError(400, `parameter ${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** The browser client's files by name (the folder is flat). */
function clientFilesOf(dir: string): Map<string, ReturnType<typeof Bun.file>> {
  const files = new Map<string, ReturnType<typeof Bun.file>>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isFile()) files.set(entry.name, Bun.file(join(dir, entry.name)));
  return files;
}

/** Builds the Hono app; `server.ts` mounts it beside the WebSocket endpoint. */
export function createHttpApp(deps: HttpDeps): Hono<{ Variables: { userId?: string } }> {
  const app = new Hono<{ Variables: { userId?: string } }>();
  app.use("*", cors({ origin: deps.allowedOrigins.includes("*") ? "*" : deps.allowedOrigins }));
  // A control character (NUL above all) names no route, file or id: refused before any handler.
  app.use("*", async (c, next) => {
    if (hasControl(c.req.path)) throw new HttpError(400, "the path must not contain control characters");
    return next();
  });

  // With AUTH_SECRET, /chat/* (but the load-balancing route) needs a Bearer token; the caller's
  // user id is then in c.get("userId"), and each route serves only that user's data.
  app.use("/chat/*", async (c, next) => {
    // The load-balancing route is open; the broadcast route checks the admin token itself.
    if (!deps.auth.enabled || c.req.path === "/chat/getNettyOnlineInfo" || c.req.path === "/chat/broadcast") return next();
    const header = c.req.header("authorization") ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const result = await deps.auth.verify(token);
    if (!result.ok) throw new HttpError(401, `unauthorized: ${result.reason}; send Authorization: Bearer <token>`);
    c.set("userId", result.userId);
    return next();
  });
  /** With authentication on, refuses callers other than `owners`. */
  const ownOnly = (c: Context, ...owners: string[]) => {
    const caller = c.get("userId") as string | undefined;
    if (deps.auth.enabled && (!caller || !owners.includes(caller))) throw new HttpError(403, "you may only read and change your own conversations and counters");
  };

  app.onError((err, c) => {
    if (err instanceof HttpError) return grace(c, null, err.status, err.message);
    if (err instanceof StoreRefusedError) return grace(c, null, 400, err.message);
    deps.log.error("http.failed", { path: c.req.path.slice(0, 200), err });
    return grace(c, null, 503, "the server could not answer: a dependency may be down, try again shortly");
  });
  app.notFound((c) => grace(c, null, 404, `no route ${c.req.method} ${c.req.path}`));

  const onlineInfo = (c: Context) => {
    const node = leastLoaded(deps.registry.nodes(), deps.fullMarks.has);
    if (!node) throw new HttpError(503, "no chat instance is available right now: retry in a few seconds");
    return grace(c, { ip: node.ip, port: node.port, onlineCounts: node.onlineCounts });
  };
  for (const path of ["/chat/getNettyOnlineInfo", "/getNettyOnlineInfo"]) {
    app.post(path, onlineInfo);
    app.get(path, onlineInfo);
  }

  // Liveness: the process answers (a draining instance is alive). Readiness is /health itself.
  app.get("/health/live", (c) => c.json({ status: deps.draining() ? "draining" : "alive", node: deps.self() }));

  const readiness = async (c: Context) => {
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
  };
  app.get("/health", readiness);
  app.get("/health/ready", readiness);

  app.get("/metrics", async (c) => {
    c.header("Content-Type", deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });

  // The browser chat client (client/): plain files, no build step. Only the files listed at start
  // are served, by exact name: no request path ever reaches the file system.
  const clientFiles = clientFilesOf(join(import.meta.dir, "..", "..", "..", "client"));
  const serveFile = (c: Context, name: string) => {
    const file = clientFiles.get(name);
    return file ? new Response(file, { headers: { "content-type": file.type } }) : c.notFound();
  };
  app.get("/", (c) => serveFile(c, "index.html"));
  app.get("/client/:name", (c) => serveFile(c, c.req.param("name")));

  addGroupRoutes(app, { ...deps, authEnabled: deps.auth.enabled });

  app.post("/chat/list/:senderId/:receiverId", async (c) => {
    const a = userParam(c, "senderId", c.req.param("senderId"));
    const b = userParam(c, "receiverId", c.req.param("receiverId"));
    if (isGroupId(b) && !GROUP_ID.test(b)) throw new HttpError(400, `parameter receiverId: a group id is ${GROUP_ID_RULE}`);
    const page = intParam("page", c.req.query("page"), 1, 1, 1_000_000);
    const pageSize = intParam("pageSize", c.req.query("pageSize"), 20, 1, 200);
    if (isGroupId(b) || b === SYSTEM_SENDER) {
      // A group's history is for its members; the broadcasts for anyone (as themselves).
      ownOnly(c, a);
      if (isGroupId(b) && deps.auth.enabled && !(await deps.groups.members(b)).includes(a)) throw new HttpError(403, `you are not a member of ${b}`);
    } else ownOnly(c, a, b);
    const { records, rows } = await deps.store.history(a, b, page, pageSize);
    return grace(c, { page, total: Math.ceil(records / pageSize), records, rows });
  });

  app.post("/chat/getMyUnReadCounts", async (c) => {
    const myId = userParam(c, "myId", c.req.query("myId"));
    ownOnly(c, myId);
    return grace(c, await deps.unread.get(myId));
  });

  app.post("/chat/clearMyUnReadCounts", async (c) => {
    const myId = userParam(c, "myId", c.req.query("myId"));
    const oppositeId = userParam(c, "oppositeId", c.req.query("oppositeId"));
    ownOnly(c, myId);
    await deps.unread.clear(myId, oppositeId);
    return grace(c, null);
  });

  app.post("/chat/signRead/:msgId", async (c) => {
    const msgId = c.req.param("msgId");
    if (!isMsgId(msgId)) throw new HttpError(400, `parameter msgId must be ${MSG_ID_RULE}`);
    if (deps.auth.enabled) {
      const msg = await deps.store.get(msgId);
      if (!msg) throw new HttpError(404, `no message ${msgId}`);
      ownOnly(c, msg.receiverId); // only the receiver signs
    }
    if (!(await deps.store.markRead(msgId))) throw new HttpError(404, `no message ${msgId}`);
    return grace(c, null);
  });

  return app;
}
