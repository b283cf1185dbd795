// Cluster adapters: ZooKeeper registry, Redis ports/routes/unread, RabbitMQ bus, the SQL store.
// Construction and order only: every client is created here and passed in.
import type { Config } from "../config.ts";
import { instanceIdOf } from "../core/directory.ts";
import type { Logger } from "../log.ts";
import { closeInOrder, type Adapters, type CloseStep } from "./adapters.ts";
import type { Metrics } from "./metrics.ts";
import { createOutbox } from "./outbox.ts";
import { createFrameBus } from "./rabbitmq/frame-bus.ts";
import { connectAmqp } from "./rabbitmq/link.ts";
import { createPersistQueue } from "./rabbitmq/persist-queue.ts";
import { createQueuedUnread } from "./rabbitmq/queued-unread.ts";
import { leasePort } from "./redis/ports.ts";
import { connectRedis } from "./redis/connect.ts";
import { createRedisPresence } from "./redis/presence.ts";
import { createRedisSessionRoutes } from "./redis/session-routes.ts";
import { createRedisUnread } from "./redis/unread.ts";
import { createSqlGroups } from "./sql/groups.ts";
import { createSqlStore } from "./sql/store.ts";
import { connectZk } from "./zookeeper/client.ts";
import { createZkFullMarks } from "./zookeeper/full-marks.ts";
import { createZkRegistry } from "./zookeeper/registry.ts";

/**
 * Order: Redis and the store first (the port comes from Redis), then ZooKeeper's view and worker
 * id, the routes, the bus; the instance is advertised (registered) only by `advertise()`, once it
 * listens. `close()` runs the steps in reverse.
 */
export async function createClusterAdapters(config: Config, log: Logger, metrics: Metrics): Promise<Adapters> {
  const steps: CloseStep[] = [];
  const closing = (name: string, step: () => unknown) => steps.unshift([name, step]);
  try {
    const redisLink = await connectRedis({ url: config.redisUrl!, timeoutMs: config.redisTimeoutMs, log });
    closing("redis", () => redisLink.close());
    const { redis } = redisLink;
    const store = await createSqlStore({ url: config.databaseUrl, log, onBatch: (rows) => metrics.storeBatch.observe(rows) });
    closing("store", () => store.close());
    const groups = await createSqlGroups(store.sql);

    const lease = await leasePort(redis, config.bindHost, config.port, { base: config.portBase, step: config.portStep });
    closing("port", () => lease.release());
    const self = { ip: config.hostIp, port: lease.port };
    const instanceId = instanceIdOf(self);
    const ilog = log.child({ instance: instanceId });

    const zk = await connectZk({ connect: config.zkConnect!, sessionTimeoutMs: config.zkSessionTimeoutMs, log: ilog });
    closing("zookeeper", () => zk.close());
    const registry = await createZkRegistry({
      zk, namespace: config.zkNamespace, self, log: ilog,
      // Benchmark-only switch (bench/storm.ts --seed-style): the seed's one lock per connect.
      seedStyleCounts: config.benchSeedStyleCounts,
      observe: { lockWaitMs: (ms) => metrics.lockWait.observe(ms / 1000), flushLagMs: (ms) => metrics.countFlushLag.observe(ms / 1000) },
    });
    closing("registry", () => registry.close());
    const fullMarks = await createZkFullMarks({ zk, namespace: config.zkNamespace, selfId: instanceId, log: ilog });
    closing("full marks", () => fullMarks.close());

    const routes = createRedisSessionRoutes({ redis, instanceId, isLive: (id) => registry.isLive(id), log: ilog });
    // Forget what a previous process on this ip:port left behind (killed, restarted at once: the
    // others may have skipped its purge); its users' presence is checked once this one serves.
    const orphanedUsers = await routes.usersOf(instanceId);
    await routes.rebuild([]);
    closing("routes", () => routes.close());

    const link = await connectAmqp({ url: config.amqpUrl!, name: `im-bus ${instanceId}`, log: ilog, heartbeatS: config.amqpHeartbeatS });
    closing("rabbitmq", () => link.close());
    const frames = await createFrameBus(link, {
      instanceId, routing: config.routing, log: ilog,
      peers: () => registry.nodes().map(instanceIdOf).filter((id) => id !== instanceId),
    });
    closing("frame bus", () => frames.close());
    const bus = createOutbox(frames, { log: ilog, onBacklog: (n) => metrics.outboxBacklog.set(n) });
    metrics.outboxCapacity.set(bus.maxFrames);
    closing("outbox", () => bus.close());
    const persist = await createPersistQueue(link, { instanceId, log: ilog });
    closing("persist queue", () => persist.close());
    const unread = createQueuedUnread(persist, createRedisUnread(redis), (msg) => store.adopt(msg), ilog, config.persistFeed);
    await unread.consume();

    return {
      self,
      instanceId,
      log: ilog,
      counts: { set: (count) => registry.setOnlineCounts(count) },
      events: registry,
      lease,
      routes,
      bus,
      store,
      groups,
      reads: groups,
      unread,
      orphanedUsers,
      presence: createRedisPresence(redis, { instanceId, isLive: (id) => registry.isLive(id) }),
      directory: { nodes: () => registry.nodes(), isFull: (id) => fullMarks.has(id) },
      fullMarks,
      workerId: () => registry.workerId,
      checks: {
        zookeeper: () => registry.health(),
        redis: () => redisLink.health(),
        rabbitmq: () => link.health(),
        store: () => store.health(),
      },
      advertise: () => registry.register(),
      drain: () => registry.drain(),
      close: () => closeInOrder(ilog, steps),
    };
  } catch (err) {
    await closeInOrder(log, steps);
    throw err;
  }
}
