// Prometheus metrics of one instance (prom-client), exposed at /metrics. Labelled children are bound
// once here, so nothing is looked up per message.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CoreMetrics } from "../core/ports.ts";
import { ErrorCode, MsgType } from "../protocol/frames.ts";

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
  const storeLatency = histogram("im_store_write_seconds", "Time from save() to durable acceptance", [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  const storeErrors = counter("im_store_errors_total", "Store writes that failed");
  const busPublishLatency = histogram(
    "im_bus_publish_seconds",
    "Time from handing a frame to the bus to the broker's confirm (includes time held during an outage)",
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
  );

  const upgradesRefused = counter("im_upgrades_refused_total", "WebSocket upgrades refused, by reason", ["reason"]);

  const frameIn = bound((type) => framesIn.labels(type), [...Object.values(MsgType).map(String), "other", "invalid"]);
  const frameOut = bound((kind) => framesOut.labels(kind), ["ack", "error", "replay", "catch_up"]);
  const error = bound((code) => errors.labels(code), Object.values(ErrorCode));
  const deliveredBy = bound((origin) => delivered.labels(origin), ["local", "remote"]);
  const publishedBy = bound((mode) => busPublished.labels(mode), ["direct", "fanout"]);

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
  };

  return {
    core,
    connectionsCap: gauge("im_connections_cap", "Connections this instance takes before refusing upgrades with 503 (MAX_CONNS or the open-files limit minus a reserve)"),
    upgradesRefused: bound((reason) => upgradesRefused.labels(reason), ["full"]),
    lockWait: histogram("im_lock_wait_seconds", "Time waiting for the ZooKeeper write lock before writing onlineCounts", [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    countFlushLag: histogram("im_count_flush_lag_seconds", "Time from a change of onlineCounts to its write in ZooKeeper", [0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]),
    outboxBacklog: gauge("im_bus_outbox_frames", "Frames held while the bus is unavailable"),
    /** The Prometheus text exposition. */
    async text(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
