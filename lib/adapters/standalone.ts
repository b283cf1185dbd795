// Picks the adapters behind the core's interfaces: in-process for standalone, ZooKeeper/Redis/RabbitMQ for a cluster.
import type { Server } from "bun";
import type { MessageBus } from "../core/bus.ts";
import { alwaysMarked, type DeliveryMarks } from "../core/delivery-marks.ts";
import type { Config } from "../config.ts";
import { createLocalBus } from "./memory/bus.ts";
import { createLocalRegistry } from "./memory/registry.ts";
import { createLocalRoutes } from "./memory/session-routes.ts";
import { createMemoryUnread } from "./memory/unread.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "./metrics.ts";
import { instanceIdOf, type FullMarks, type InstanceRegistry } from "../core/registry.ts";
import { createLocalFullMarks } from "./memory/full-marks.ts";
import type { SessionRoutes } from "../core/session-routes.ts";
import { createSqlStore } from "./sql/store.ts";
import { createSqlGroups } from "./sql/groups.ts";
import type { GroupStore } from "../core/groups.ts";
import type { MessageStore } from "../core/store.ts";
import type { UnreadCounters } from "../core/unread.ts";

/** What the adapters read of this instance's connections: [userId, connId] pairs and their number. */
export interface LocalSessionsView {
  routes(): Iterable<readonly [string, string]>;
  readonly onlineCounts: number;
}

export interface Adapters {
  registry: InstanceRegistry;
  bus: MessageBus;
  routes: SessionRoutes;
  store: MessageStore;
  unread: UnreadCounters;
  marks: DeliveryMarks;
  groups: GroupStore;
  /** Which instances are at their connection cap (getNettyOnlineInfo skips them). */
  fullMarks: FullMarks;
  /** Named health checks for /health. */
  checks: Record<string, () => Promise<string>>;
  /** Tells the adapters where this instance's [userId, connId] pairs are, to rebuild routes after an outage. */
  setLocalSessions(sessions: LocalSessionsView): void;
  /** Closes everything in reverse order of creation. */
  close(): Promise<void>;
}

/** Creates the adapters for `config.mode` and binds the server through `bindPort`. */
export async function createAdapters<S extends Server<any>>(
  config: Config,
  log: Logger,
  metrics: Metrics,
  bindPort: (port: number) => S,
): Promise<{ server: S; adapters: Adapters }> {
  if (config.mode === "cluster") {
    const { createClusterAdapters } = await import("./cluster.ts");
    return createClusterAdapters(config, log, metrics, bindPort);
  }
  const store = await createSqlStore({ url: config.databaseUrl, log });
  const groups = await createSqlGroups(store.sql);
  let server: S;
  try {
    server = bindPort(config.port ?? config.portBase);
  } catch (err) {
    await store.close();
    throw err;
  }
  const self = { ip: config.hostIp, port: server.port! };
  const registry = createLocalRegistry(self);
  const bus = createLocalBus();
  const routes = createLocalRoutes(instanceIdOf(self));
  const unread = createMemoryUnread();
  return {
    server,
    adapters: {
      registry, bus, routes, store, unread,
      marks: alwaysMarked,
      groups,
      fullMarks: createLocalFullMarks(instanceIdOf(self)),
      checks: { store: () => store.health() },
      setLocalSessions() {}, // nothing to rebuild: routes live in this process
      async close() {
        await unread.close();
        await routes.close();
        await bus.close();
        await registry.close();
        await store.close();
      },
    },
  };
}
