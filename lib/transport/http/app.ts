// The HTTP API (Hono): CORS, control characters refused, authentication of /chat/*, errors as the
// seed's GraceJSONResult, and the route groups (ops, chat, groups, the browser client).
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { Logger } from "../../log.ts";
import { hasControl } from "../../protocol/values.ts";
import { bearerToken, type Auth } from "../auth.ts";
import { addBackendRoutes, type BackendRouteDeps } from "./backend-routes.ts";
import { addChatRoutes, type ChatRouteDeps } from "./chat-routes.ts";
import { addClientRoutes } from "./client-files.ts";
import { addEditRoutes, type EditRouteDeps } from "./edit-routes.ts";
import { addFeatureRoutes, type FeatureRouteDeps } from "./feature-routes.ts";
import { addGroupRoutes, type GroupRouteDeps } from "./group-routes.ts";
import { addOpsRoutes, type OpsRouteDeps } from "./ops-routes.ts";
import { addReadRoutes, type ReadRouteDeps } from "./read-routes.ts";
import { HttpError, grace, httpErrorOf } from "./respond.ts";

export interface HttpDeps
  extends OpsRouteDeps, BackendRouteDeps, Omit<ChatRouteDeps, "authEnabled" | "groups" | "store" | "unread">, Omit<GroupRouteDeps, "authEnabled">,
    Omit<FeatureRouteDeps, "authEnabled" | "groups" | "store" | "unread">, Omit<EditRouteDeps, "authEnabled">,
    Omit<ReadRouteDeps, "authEnabled"> {
  store: ChatRouteDeps["store"] & FeatureRouteDeps["store"];
  unread: ChatRouteDeps["unread"] & FeatureRouteDeps["unread"];
  auth: Auth;
  /** CORS: origins allowed to call the API from a browser; ["*"] allows any. */
  allowedOrigins: string[];
  log: Logger;
}

/** Largest request body of the API. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Routes behind the admin token instead of a user's (they check it themselves). */
const ADMIN_ROUTES = new Set(["/chat/broadcast", "/chat/send"]);

export type HttpApp = Hono<{ Variables: { userId?: string } }>;

/** Builds the Hono app; the server answers every request but /ws with it. */
export function createHttpApp(deps: HttpDeps): HttpApp {
  const app: HttpApp = new Hono();
  app.use("*", cors({ origin: deps.allowedOrigins.includes("*") ? "*" : deps.allowedOrigins }));
  // A control character (NUL above all) names no route, file or id: refused before any handler.
  app.use("*", async (c, next) => {
    if (hasControl(c.req.path)) throw new HttpError(400, "the path must not contain control characters");
    return next();
  });
  // A body past 1 MiB (10,000 member ids of a group fit in less) is refused before it is read whole.
  app.use("/chat/*", bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => grace(c, null, 413, `the body must be at most ${MAX_BODY_BYTES} bytes`) }));
  // With AUTH_SECRET, /chat/* (but the load-balancing route) needs a Bearer token; the caller's
  // user id is then in c.get("userId"), and each route serves only that user's data.
  app.use("/chat/*", async (c, next) => {
    // The load-balancing route is open; the admin's routes check the admin token themselves.
    if (!deps.auth.enabled || ADMIN_ROUTES.has(c.req.path) || c.req.path === "/chat/getNettyOnlineInfo") return next();
    const result = await deps.auth.verify(bearerToken(c.req.header("authorization")));
    if (!result.ok) throw new HttpError(401, `unauthorized: ${result.reason}; send Authorization: Bearer <token>`);
    c.set("userId", result.userId);
    return next();
  });

  app.onError((err, c) => {
    const known = httpErrorOf(err);
    if (known) return grace(c, null, known.status, known.message);
    deps.log.error("http.failed", { path: c.req.path.slice(0, 200), err });
    return grace(c, null, 503, "the server could not answer: a dependency may be down, try again shortly");
  });
  app.notFound((c) => grace(c, null, 404, `no route ${c.req.method} ${c.req.path.slice(0, 200)}`));

  const authEnabled = deps.auth.enabled;
  addOpsRoutes(app, deps);
  addClientRoutes(app);
  addGroupRoutes(app, { ...deps, authEnabled });
  addChatRoutes(app, { ...deps, authEnabled });
  addBackendRoutes(app, deps);
  addFeatureRoutes(app, { ...deps, authEnabled });
  addReadRoutes(app, { ...deps, authEnabled });
  addEditRoutes(app, { ...deps, authEnabled });
  return app;
}
