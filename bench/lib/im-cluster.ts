// Benchmark clusters: test/support/cluster.ts's startCluster with the benchmarks' Redis database and settings,
// plus readers of what the instances and the broker spent.
import { startCluster, type Cluster } from "../../test/support/cluster.ts";
import { cpuMs, pidsOf, progress, REDIS_DB, run, scrapeMetrics } from "./common.ts";

export type { Cluster };

/** Starts `size` real `bun run server.ts` instances (own ZK namespace, Redis database, vhost, SQLite file). */
export async function startBenchCluster(size: number, env: Record<string, string> = {}): Promise<Cluster> {
  const started = performance.now();
  const cluster = await startCluster({
    size,
    redisDb: REDIS_DB,
    // Idle connections of the storm and memory runs must not be swept while they are measured.
    // The frame limit off: at 100 frames/s per connection 50 senders would cap the rate at 5,000 msg/s.
    env: { LOG_LEVEL: "warn", IDLE_TIMEOUT_S: "600", FRAME_RATE_PER_CONN: "0", ...env },
  });
  progress(`cluster of ${size} up in ${(performance.now() - started).toFixed(0)} ms (${env.ROUTING ?? "direct"}), ports ${cluster.nodes.map((n) => n.port).join(",")}`);
  return cluster;
}

/** CPU milliseconds used so far by every instance of the cluster. */
export const clusterCpuMs = (c: Cluster) => c.nodes.reduce((s, n) => s + cpuMs(n.proc.pid), 0);

const brokerPids = () => pidsOf("beam.smp");
const redisPids = () => pidsOf("redis-server");
/** Every PostgreSQL process (postmaster, backends, background workers) alive now. */
const postgresPids = () => pidsOf("postgres");
/**
 * CPU milliseconds used so far by RabbitMQ (beam.smp), Redis and PostgreSQL: shared services, so only
 * deltas over a quiet period mean anything (a PostgreSQL backend that exits within the period is missed).
 */
export function serviceCpuMs(): { rabbitmq: number; redis: number; postgres: number } {
  const sum = (pids: number[]) => pids.reduce((s, p) => s + (cpuMs(p) || 0), 0); // a process gone meanwhile counts 0
  return { rabbitmq: sum(brokerPids()), redis: sum(redisPids()), postgres: sum(postgresPids()) };
}

/** Sums of each metric over every instance (Prometheus text from /metrics). */
export async function clusterMetrics(c: Cluster): Promise<Record<string, number>> {
  const all = await Promise.all(c.nodes.map((_, i) => scrapeMetrics(c.httpUrl(i))));
  const sums: Record<string, number> = {};
  for (const m of all) for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v;
  return sums;
}

/**
 * Bytes the broker sent to and received from the connections of this cluster's vhost, read live
 * from the connections' sockets (`rabbitmqctl list_connections`, no management plugin needed).
 */
export async function brokerOctets(vhost: string): Promise<{ sendOct: number; recvOct: number; connections: number }> {
  const out = await run(["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "vhost", "send_oct", "recv_oct"], 30_000);
  let sendOct = 0, recvOct = 0, connections = 0;
  for (const line of out.trim().split("\n")) {
    const [v, s, r] = line.trim().split(/\s+/);
    if (v !== vhost) continue;
    sendOct += Number(s);
    recvOct += Number(r);
    connections++;
  }
  return { sendOct, recvOct, connections };
}

/** Children of `/<ns>/<name>` and the node's cversion (bumped by every child create and delete). */
export async function znodeChildren(c: Cluster, name: string): Promise<{ children: number; cversion: number }> {
  const path = `/${c.namespace}/${name}`;
  const stat = await c.zk.stat(path).catch(() => null);
  const children = stat ? (await c.zk.getChildren(path).catch(() => [])).length : 0;
  return { children, cversion: stat?.cversion ?? 0 };
}
