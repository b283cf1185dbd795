// A cluster whose instances each run on a test host of their own (a network namespace, see
// netns.ts) and reach ZooKeeper, Redis, RabbitMQ and PostgreSQL at addresses of their own on the
// bridge, through forwarders whose faults are set per host (fault-forwarder.ts).
import { startCluster, type Cluster, type Node } from "./cluster.ts";
import { OK, startFaultForwarder, type Fault, type FaultForwarder } from "./fault-forwarder.ts";
import { createNetHosts, type NetHosts } from "./netns.ts";
import { AMQP, PG, REDIS, ZK } from "./services.ts";

export const SERVICES = ["zookeeper", "redis", "rabbitmq", "postgres"] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface HostCluster {
  readonly c: Cluster;
  readonly net: NetHosts;
  readonly forwarders: Record<ServiceName, FaultForwarder>;
  /** Sets `fault` between host `host` and each of `services`. */
  fault(host: number, services: readonly ServiceName[], fault: Fault): void;
  /** Heals every link of every host. */
  healAll(): void;
  /** The running instance on host `host`, if any. */
  nodeOn(host: number): Node | undefined;
  /** Instances that exited without `kill` or `stop` asking (a crash), with the end of their log. */
  crashed(): Array<{ host: number; code: number | null; log: string[] }>;
  /** SIGKILLs the instance on `host` and waits for its exit. */
  kill(host: number): Promise<void>;
  /** Starts a new instance on `host` (after `kill`), with `env` over the cluster's settings. */
  restart(host: number, env?: Record<string, string>): Promise<Node>;
  stop(): Promise<void>;
}

export interface HostClusterOptions {
  hosts: number;
  redisDb: number;
  /** Every instance's settings. */
  env?: Record<string, string>;
}

const hostPort = (url: string, port: number) => {
  const u = new URL(url.includes("://") ? url : `tcp://${url.split(",")[0]}`);
  return { host: u.hostname, port: Number(u.port || port) };
};

/** `url` with its host:port replaced by the forwarder's. */
const via = (url: string, f: FaultForwarder) => {
  const u = new URL(url);
  u.host = `${f.host}:${f.port}`;
  return u.toString();
};

/** Makes the hosts and forwarders, then starts one instance per host (PostgreSQL store). */
export async function startHostCluster(o: HostClusterOptions): Promise<HostCluster> {
  const net = createNetHosts(o.hosts, SERVICES.length);
  const forwarders = {} as Record<ServiceName, FaultForwarder>;
  let c: Cluster | undefined;
  const stop = async () => {
    await c?.stop().catch(() => {});
    await Promise.all(Object.values(forwarders).map((f) => f.close().catch(() => {})));
    net.destroy();
  };
  try {
    const targets: Record<ServiceName, { host: string; port: number }> = {
      zookeeper: hostPort(ZK, 2181),
      redis: hostPort(REDIS, 6379),
      rabbitmq: hostPort(AMQP, 5672),
      postgres: hostPort(PG, 5432),
    };
    for (const [i, name] of SERVICES.entries()) forwarders[name] = await startFaultForwarder({ host: net.serviceIps[i] }, targets[name]);
    const z = forwarders.zookeeper;
    c = await startCluster({
      size: 0,
      redisDb: o.redisDb,
      env: { DATABASE_URL: via(PG, forwarders.postgres), ...o.env },
      host: (slot) => ({ ip: net.ips[slot], prefix: net.exec(slot) }),
    });
    const cluster = c;
    // The cluster's own URLs name the vhost and database; point them at the forwarders.
    Object.assign(cluster.baseEnv, {
      ZK_CONNECT: `${z.host}:${z.port}`,
      REDIS_URL: via(cluster.baseEnv.REDIS_URL, forwarders.redis),
      AMQP_URL: via(cluster.baseEnv.AMQP_URL, forwarders.rabbitmq),
    });
    for (let i = 0; i < o.hosts; i++) await cluster.start({}, i);
    const killed = new Set<Node>();
    const reported = new Set<Node>();
    const nodeOn = (host: number) => cluster.nodes.find((n) => n.slot === host && n.proc.exitCode === null && !n.proc.killed);
    return {
      c: cluster,
      net,
      forwarders,
      fault(host, services, fault) {
        for (const s of services) forwarders[s].set(net.ips[host], fault);
      },
      healAll() {
        for (const ip of net.ips) for (const f of Object.values(forwarders)) f.set(ip, OK);
      },
      nodeOn,
      crashed() {
        const dead = cluster.nodes.filter((n) => n.proc.exitCode !== null && !killed.has(n) && !reported.has(n));
        for (const n of dead) reported.add(n);
        return dead.map((n) => ({ host: n.slot ?? -1, code: n.proc.exitCode, log: n.log.slice(-20) }));
      },
      async kill(host) {
        const n = nodeOn(host);
        if (!n) return;
        killed.add(n);
        n.proc.kill("SIGKILL");
        await n.proc.exited;
      },
      restart: (host, env = {}) => cluster.start(env, host),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
