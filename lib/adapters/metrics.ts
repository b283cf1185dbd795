// Prometheus metrics of one instance (prom-client), exposed at /metrics. Labelled children are bound
// once here, so nothing is looked up per message; per-message histograms allocate nothing
// (./histogram.ts). deploy/grafana-dashboard.json and deploy/prometheus-rules.yml read them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CoreMetrics } from "../core/ports.ts";
import { ErrorCode, MsgType } from "../protocol/frames.ts";
import { fastHistogram } from "./histogram.ts";

/** What /metrics reads at each scrape (not per message): /health's checks and the routes' trust. */
export interface ScrapedState {
  /** Named dependency checks, each answering "ok" or a reason (lib/adapters/adapters.ts). */
  checks: Record<string, () => Promise<string>>;
  /** False while route lookups are distrusted and frames are broadcast (lib/core/membership.ts). */
  routesTrusted(): boolean;
}

/** A dependency check slower than this counts as down at a scrape (as /health bounds its own). */
const SCRAPE_CHECK_TIMEOUT_MS = 1000;

/** A check's answer is "ok" within `ms`. */
async function isUp(check: () => Promise<string>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
  const answer = await Promise.race([check().catch(() => "failed"), late]).finally(() => clearTimeout(timer));
  return answer === "ok";
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Binds one child per known label value; an unknown value gets its child on first use. */
function bound<T>(make: (label: string) => T, known: readonly string[]): (label: string) => T {
  const children = new Map(known.map((k) => [k, make(k)]));
  return (label) => {
    let child = children.get(label);
    if (!child) children.set(label, (child = make(label)));
    return child;
  };
}

/** Creates a fresh registry with the instance's metrics (one per process; tests create several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "im_" });
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  const histogram = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, buckets, registers });

  const connections = gauge("im_connections", "Open WebSocket connections");
  const onlineCounts = gauge("im_online_counts", "Connections that completed CONNECT_INIT");
  const onlineUsers = gauge("im_online_users", "Distinct users with a bound connection");
  const framesIn = counter("im_frames_in_total", "Frames received, by msgType", ["type"]);
  const framesOut = counter("im_frames_out_total", "Frames sent to clients, by kind", ["kind"]);
  const errors = counter("im_errors_total", "Error replies sent, by code", ["code"]);
  const delivered = counter(
    "im_messages_delivered_total",
    "Frames delivered to connections, by origin (local: sent on this instance, remote: arrived over the bus)",
    ["origin"],
  );
  const busPublished = counter("im_bus_published_total", "Frames handed to the bus", ["mode"]);
  const busConsumed = counter("im_bus_consumed_total", "Frames received from the bus");
  const busErrors = counter("im_bus_errors_total", "Bus publishes that failed");
  const storeLatency = fastHistogram(registry, "im_store_write_seconds", "Time from save() to durable acceptance", [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  const storeErrors = counter("im_store_errors_total", "Store writes that failed");
  const busPublishLatency = fastHistogram(
    registry,
    "im_bus_publish_seconds",
    "Time from handing a frame to the bus to the broker's confirm (includes time held during an outage)",
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
  );

  const ackLatency = fastHistogram(
    registry,
    "im_message_ack_seconds",
    "Chat messages: time from handling the frame to stored, counted and handed on (when its ack goes out)",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  const replays = counter("im_replays_total", "CONNECT_INITs that replayed, by whether the replay held everything missed", ["recovered"]);
  const storeBatch = fastHistogram(registry, "im_store_batch_rows", "Rows per group-commit batch written to the store", [1, 2, 5, 10, 20, 50, 100, 200, 500]);
  const upgradesRefused = counter("im_upgrades_refused_total", "WebSocket upgrades refused, by reason", ["reason"]);
  let scraped: ScrapedState | undefined;
  const dependencyUp = new Gauge({
    name: "im_dependency_up",
    help: "1 when the dependency's /health check answers ok at this scrape (zookeeper: connected, session live and registered)",
    labelNames: ["dependency"],
    registers,
    async collect() {
      if (!scraped) return;
      const entries = Object.entries(scraped.checks);
      const up = await Promise.all(entries.map(([, check]) => isUp(check, SCRAPE_CHECK_TIMEOUT_MS)));
      entries.forEach(([name], i) => this.labels(name).set(up[i] ? 1 : 0));
    },
  });
  const routesTrusted = new Gauge({
    name: "im_routes_trusted",
    help: "1 while route lookups are trusted; 0 while frames are broadcast because routes are being rebuilt",
    registers,
    collect() {
      if (scraped) this.set(scraped.routesTrusted() ? 1 : 0);
    },
  });

  const frameIn = bound((type) => framesIn.labels(type), [...Object.values(MsgType).map(String), "presence", "typing", "other", "invalid"]);
  const frameOut = bound((kind) => framesOut.labels(kind), ["ack", "error", "replay", "catch_up"]);
  const error = bound((code) => errors.labels(code), Object.values(ErrorCode));
  const deliveredBy = bound((origin) => delivered.labels(origin), ["local", "remote"]);
  const publishedBy = bound((mode) => busPublished.labels(mode), ["direct", "fanout"]);
  const replayedAll = replays.labels("true");
  const replayedPart = replays.labels("false");
  replayedAll.inc(0); // both series exist from the start, so a rate over them is 0, not absent
  replayedPart.inc(0);

  const core: CoreMetrics = {
    frameIn: (type) => frameIn(type).inc(),
    frameOut: (kind) => frameOut(kind).inc(),
    error: (code) => error(code).inc(),
    delivered: (origin) => deliveredBy(origin).inc(),
    connections: (open) => connections.set(open),
    online(counts, users) {
      onlineCounts.set(counts);
      onlineUsers.set(users);
    },
    stored: (seconds) => storeLatency.observe(seconds),
    storeFailed: () => storeErrors.inc(),
    published(mode, seconds) {
      publishedBy(mode).inc();
      busPublishLatency.observe(seconds);
    },
    publishFailed: () => busErrors.inc(),
    consumed: () => busConsumed.inc(),
    acked: (seconds) => ackLatency.observe(seconds),
    replayed: (_messages, recovered) => (recovered ? replayedAll : replayedPart).inc(),
  };

  return {
    core,
    connectionsCap: gauge("im_connections_cap", "Connections this instance takes before refusing upgrades with 503 (MAX_CONNS or the open-files limit minus a reserve)"),
    upgradesRefused: bound((reason) => upgradesRefused.labels(reason), ["full"]),
    lockWait: histogram("im_lock_wait_seconds", "Time waiting for the ZooKeeper write lock before writing onlineCounts", [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    countFlushLag: histogram("im_count_flush_lag_seconds", "Time from a change of onlineCounts to its write in ZooKeeper", [0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]),
    outboxBacklog: gauge("im_bus_outbox_frames", "Frames held while the bus is unavailable"),
    outboxCapacity: gauge("im_bus_outbox_capacity", "Most frames the outbox holds; past it new chat messages get UNAVAILABLE"),
    /** Rows per group-commit batch (for the SQL writer to call once per batch). */
    storeBatch,
    /** Reads dependency state and route trust at each scrape from now on. */
    watch(state: ScrapedState): void {
      scraped = state;
      for (const name of Object.keys(state.checks)) dependencyUp.labels(name).set(0);
      routesTrusted.set(1);
    },
    /** The Prometheus text exposition. */
    async text(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
