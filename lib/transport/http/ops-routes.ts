// Operations routes: the load-balancing route of the seed, liveness and readiness, metrics.
import type { Context, Hono } from "hono";
import { leastLoaded, type InstanceDirectory } from "../../core/directory.ts";
import { HttpError, grace } from "./respond.ts";

export interface OpsRouteDeps {
  directory: InstanceDirectory;
  /** Named checks for /health, e.g. `{ store: () => store.health() }`; each answers "ok" or a reason. */
  checks: Record<string, () => Promise<string>>;
  /** This instance as advertised, with its live count. */
  self(): { ip: string; port: number; onlineCounts: number };
  /** True from the moment a graceful stop begins. */
  draining(): boolean;
  /** The Prometheus text exposition. */
  metricsText(): Promise<{ contentType: string; body: string }>;
}

/** Longest a /health check may take: a dependency that does not answer (a silent partition) fails it. */
export const HEALTH_CHECK_TIMEOUT_MS = 1500;

/** A check's answer, or a reason once it has taken longer than `ms`. */
function bounded(check: () => Promise<string>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${ms} ms`), ms)));
  return Promise.race([check().catch((e) => String(e)), late]).finally(() => clearTimeout(timer));
}

export function addOpsRoutes(app: Hono<any>, deps: OpsRouteDeps): void {
  const onlineInfo = (c: Context) => {
    const node = leastLoaded(deps.directory);
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
      Object.entries(deps.checks).map(async ([name, check]) => [name, await bounded(check, HEALTH_CHECK_TIMEOUT_MS)] as const),
    );
    const failing = entries.filter(([, v]) => v !== "ok").map(([k]) => k);
    const draining = deps.draining();
    const body = {
      status: draining ? "draining" : failing.length ? "unavailable" : "ok",
      node: deps.self(),
      checks: Object.fromEntries(entries),
      ...(failing.length ? { failing } : {}),
    };
    return c.json(body, failing.length || draining ? 503 : 200);
  };
  app.get("/health", readiness);
  app.get("/health/ready", readiness);

  app.get("/metrics", async (c) => {
    const { contentType, body } = await deps.metricsText();
    c.header("Content-Type", contentType);
    return c.body(body);
  });
}
