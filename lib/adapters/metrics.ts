// Prometheus metrics of one instance (prom-client), exposed at /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type Metrics = ReturnType<typeof createMetrics>;

/** Creates a fresh registry with the instance's metrics (one per process; tests create several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "im_" });
  const registers = [registry];
  return {
    registry,
    connections: new Gauge({ name: "im_connections", help: "Open WebSocket connections", registers }),
    connectionsCap: new Gauge({
      name: "im_connections_cap",
      help: "Connections this instance takes before refusing upgrades with 503 (MAX_CONNS or the open-files limit minus a reserve)",
      registers,
    }),
    upgradesRefused: new Counter({ name: "im_upgrades_refused_total", help: "WebSocket upgrades refused, by reason", labelNames: ["reason"], registers }),
    onlineCounts: new Gauge({ name: "im_online_counts", help: "Connections that completed CONNECT_INIT", registers }),
    onlineUsers: new Gauge({ name: "im_online_users", help: "Distinct users with a bound connection", registers }),
    framesIn: new Counter({ name: "im_frames_in_total", help: "Frames received, by msgType", labelNames: ["type"], registers }),
    framesOut: new Counter({ name: "im_frames_out_total", help: "Frames sent to clients, by kind", labelNames: ["kind"], registers }),
    errors: new Counter({ name: "im_errors_total", help: "Error replies sent, by code", labelNames: ["code"], registers }),
    delivered: new Counter({
      name: "im_messages_delivered_total",
      help: "Frames delivered to connections, by origin (local: sent on this instance, remote: arrived over the bus)",
      labelNames: ["origin"],
      registers,
    }),
    busPublished: new Counter({ name: "im_bus_published_total", help: "Frames handed to the bus", labelNames: ["mode"], registers }),
    busConsumed: new Counter({ name: "im_bus_consumed_total", help: "Frames received from the bus", registers }),
    busErrors: new Counter({ name: "im_bus_errors_total", help: "Bus publishes that failed", registers }),
    storeLatency: new Histogram({
      name: "im_store_write_seconds",
      help: "Time from save() to durable acceptance",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    storeErrors: new Counter({ name: "im_store_errors_total", help: "Store writes that failed", registers }),
    busPublishLatency: new Histogram({
      name: "im_bus_publish_seconds",
      help: "Time from handing a frame to the bus to the broker's confirm (includes time held during an outage)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    lockWait: new Histogram({
      name: "im_lock_wait_seconds",
      help: "Time waiting for the ZooKeeper write lock before writing onlineCounts",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    countFlushLag: new Histogram({
      name: "im_count_flush_lag_seconds",
      help: "Time from a change of onlineCounts to its write in ZooKeeper",
      buckets: [0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    }),
    outboxBacklog: new Gauge({ name: "im_bus_outbox_frames", help: "Frames held while the bus is unavailable", registers }),
  };
}
