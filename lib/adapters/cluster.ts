// Cluster adapters: ZooKeeper registry, Redis ports/routes/unread, RabbitMQ bus — wired for one instance.
import Redis from "ioredis";
import type { Server } from "bun";
import type { Adapters, LocalSessionsView } from "./standalone.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "./metrics.ts";
import { instanceIdOf, type InstanceRegistry } from "../core/registry.ts";
import { createSqlStore } from "./sql/store.ts";
import { createSqlGroups } from "./sql/groups.ts";
import { createOutbox } from "./outbox.ts";
import { createAmqpBus } from "./rabbitmq/bus.ts";
import { createQueuedUnread } from "./rabbitmq/queued-unread.ts";
import { PORT_KEY, allocateAndBind, releasePort } from "./redis/ports.ts";
import { createRedisSessionRoutes } from "./redis/session-routes.ts";
import { createRedisUnread } from "./redis/unread.ts";
import { createRedisDeliveryMarks } from "./redis/delivery-marks.ts";
import { createZkRegistry } from "./zookeeper/registry.ts";
import { createZkFullMarks } from "./zookeeper/full-marks.ts";

/** How long lookups are not trusted after Redis came back or lost routes (other instances rebuild theirs). */
const ROUTES_REBUILD_GRACE_MS = 10_000;

/** Runs `steps` in order, logging (not throwing) each failure, so one stuck dependency does not block the rest. */
async function closeAll(log: Logger, steps: Array<[string, () => Promise<unknown>]>): Promise<void> {
  for (const [name, step] of steps) await step().catch((err) => log.warn("close.failed", { component: name, err }));
}

/**
 * Order: Redis and the store first (the port comes from Redis), then bind, then the bus, then
 * ZooKeeper registration last, so an instance is advertised only once it can serve.
 */
export async function createClusterAdapters<S extends Server<any>>(
  config: Config,
  log: Logger,
  metrics: Metrics,
  bindPort: (port: number) => S,
): Promise<{ server: S; adapters: Adapters }> {
  const redis = new Redis(config.redisUrl!, {
    lazyConnect: true,
    // A command caught by a disconnect fails rather than being re-sent to a Redis that may have
    // come back empty (a route lookup answered there would send a message nowhere).
    maxRetriesPerRequest: 0,
    // Commands issued in one tick (route lookups, delivery marks, counters) share one round trip.
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 5000) + Math.floor(Math.random() * 200),
  });
  redis.on("error", () => {}); // state changes are logged below, once each
  await redis.connect().catch((err) => {
    throw new Error(`cannot connect to Redis at ${config.redisUrl}: ${err.message}`);
  });
  const cleanup: Array<[string, () => Promise<unknown>]> = [["redis", () => redis.quit()]];
  try {
    const store = await createSqlStore({ url: config.databaseUrl, log });
    cleanup.unshift(["store", () => store.close()]);
    const groups = await createSqlGroups(store.sql);

    let server: S;
    if (config.port !== undefined) {
      server = bindPort(config.port);
      await redis.hset(PORT_KEY, String(server.port), "0");
    } else {
      ({ bound: server } = await allocateAndBind(redis, { base: config.portBase, step: config.portStep, bind: bindPort }));
    }
    const port = server.port!;
    cleanup.unshift(["port", () => releasePort(redis, port)], ["server", async () => server.stop(true)]);
    const self = { ip: config.hostIp, port };
    const instanceId = instanceIdOf(self);
    const ilog = log.child({ instance: instanceId });

    let registry: InstanceRegistry | undefined;
    const routes = createRedisSessionRoutes({ redis, instanceId, isLive: (id) => registry?.isLive(id) ?? false, log: ilog });
    await routes.rebuild([]); // forget what a previous process on this ip:port left behind

    const amqp = await createAmqpBus({ url: config.amqpUrl!, instanceId, routing: config.routing, log: ilog });
    cleanup.unshift(["bus", () => amqp.close()]);
    const bus = createOutbox(amqp, { log: ilog, onBacklog: (n) => metrics.outboxBacklog.set(n) });
    const unread = createQueuedUnread(amqp, createRedisUnread(redis), ilog);
    await unread.consume();

    const reg = await createZkRegistry({
      connect: config.zkConnect!,
      namespace: config.zkNamespace,
      sessionTimeoutMs: config.zkSessionTimeoutMs,
      self,
      log: ilog,
      // Benchmark-only switch (bench/storm.ts --seed-style): the seed's one lock per connect.
      seedStyleCounts: config.benchSeedStyleCounts,
      observe: {
        lockWaitMs: (ms) => metrics.lockWait.observe(ms / 1000),
        flushLagMs: (ms) => metrics.countFlushLag.observe(ms / 1000),
      },
    });
    registry = reg;
    cleanup.unshift(["registry", () => reg.close()]);
    const fullMarks = await createZkFullMarks({ zk: reg.zk, namespace: config.zkNamespace, selfId: instanceId, log: ilog });
    reg.onInstanceGone((node) => {
      const goneId = instanceIdOf(node);
      if (goneId === instanceId) return; // our own old node after a session expiry: we still hold the port
      // It may only have lost its ZooKeeper session and still serve its users: broadcast (its queue
      // still gets fanout) until it re-registers and rebuilds its routes, rather than route to no one.
      routes.distrustFor(ROUTES_REBUILD_GRACE_MS);
      releasePort(redis, node.port).catch((err) => ilog.warn("port.release_failed", { port: node.port, err }));
      routes.purgeInstance(goneId).catch((err) => ilog.warn("routes.purge_failed", { instance: goneId, err }));
    });

    // After ZooKeeper expired our session (others saw our node vanish and dropped our port and
    // routes) or Redis came back (possibly empty), put our port and routes back.
    let local: LocalSessionsView = { routes: () => [], onlineCounts: 0 };
    const resync = (why: string) =>
      Promise.all([redis.hset(PORT_KEY, String(port), "0"), routes.rebuild(local.routes())]).then(
        () => ilog.info("routes.rebuilt", { why }),
        (err) => ilog.warn("routes.rebuild_failed", { why, err }),
      );
    reg.onRegistered(() => void resync("re-registered in zookeeper"));
    // Every instance rebuilds its own routes when Redis is back: until all have, broadcast.
    redis.on("ready", () => {
      routes.distrustFor(ROUTES_REBUILD_GRACE_MS);
      void resync("redis reconnected");
    });
    // Routes can also vanish with the connection up (FLUSHDB, eviction, a failover to a replica
    // that lacked them): compare what Redis holds for this instance with what it really holds.
    // Two audits in a row must disagree, so connections coming and going in between do not count.
    let disagreements = 0;
    const audit = setInterval(async () => {
      try {
        const [inRedis, portKnown] = await Promise.all([routes.ownCount(), redis.hexists(PORT_KEY, String(port))]);
        disagreements = inRedis !== local.onlineCounts || !portKnown ? disagreements + 1 : 0;
        if (disagreements >= 2) {
          disagreements = 0;
          routes.distrustFor(ROUTES_REBUILD_GRACE_MS);
          await resync("routes or port missing in redis");
        }
      } catch {} // Redis down: the reconnect resyncs
    }, 2500);
    audit.unref?.();

    const redisHealth = async () => (redis.status === "ready" ? "ok" : `redis: ${redis.status}`);
    return {
      server,
      adapters: {
        registry: reg,
        bus,
        routes,
        store,
        unread,
        marks: createRedisDeliveryMarks(redis, ilog),
        groups,
        fullMarks,
        checks: {
          zookeeper: () => reg.health(),
          redis: redisHealth,
          rabbitmq: () => bus.health(),
          store: () => store.health(),
        },
        setLocalSessions(sessions) {
          local = sessions;
        },
        close: () =>
          closeAll(ilog, [
            ["audit", async () => clearInterval(audit)],
            ["full marks", () => fullMarks.close()],
            ["registry", () => reg.close()],
            ["routes", () => routes.close()],
            ["bus", () => bus.close()],
            ["store", () => store.close()],
            ["port", () => releasePort(redis, port)],
            ["redis", () => redis.quit()],
          ]),
      },
    };
  } catch (err) {
    await closeAll(log, cleanup);
    throw err;
  }
}
