// Standalone adapters: in-process parts and the SQL store (SQLite by default). Construction and order only.
import type { Config } from "../config.ts";
import { instanceIdOf } from "../core/directory.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "./metrics.ts";
import { closeInOrder, type Adapters } from "./adapters.ts";
import { createLocalBus } from "./memory/bus.ts";
import { createLocalFullMarks } from "./memory/full-marks.ts";
import { createMemoryPresence } from "./memory/presence.ts";
import { leaseFixedPort } from "./memory/port-lease.ts";
import { createLocalRegistry } from "./memory/registry.ts";
import { createLocalRoutes } from "./memory/session-routes.ts";
import { createMemoryUnread } from "./memory/unread.ts";
import { createSqlGroups } from "./sql/groups.ts";
import { createSqlStore } from "./sql/store.ts";

export async function createStandaloneAdapters(config: Config, log: Logger, metrics: Metrics): Promise<Adapters> {
  const store = await createSqlStore({ url: config.databaseUrl, log, onBatch: (rows) => metrics.storeBatch.observe(rows) });
  try {
    const groups = await createSqlGroups(store.sql);
    const lease = leaseFixedPort(config.bindHost, config.port ?? config.portBase);
    const self = { ip: config.hostIp, port: lease.port };
    const instanceId = instanceIdOf(self);
    const fullMarks = createLocalFullMarks(instanceId);
    const registry = createLocalRegistry(self, fullMarks);
    const routes = createLocalRoutes(instanceId);
    return {
      self,
      instanceId,
      log: log.child({ instance: instanceId }),
      counts: registry.counts,
      events: registry.events,
      lease,
      routes,
      presence: createMemoryPresence(routes.has),
      bus: createLocalBus(),
      store,
      groups,
      reads: groups,
      unread: createMemoryUnread(),
      directory: registry.directory,
      fullMarks,
      workerId: registry.workerId,
      checks: { store: () => store.health() },
      advertise: async () => {},
      drain: () => registry.drain(),
      close: () => closeInOrder(log, [["port", () => lease.unhold?.()], ["store", () => store.close()]]),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
