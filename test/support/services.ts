// Where the tests find the real services (override with TEST_ZK, TEST_REDIS, TEST_AMQP,
// TEST_DATABASE_URL), which Redis database each test file owns, and stopping or starting a service.
import { join } from "node:path";

export const ZK = Bun.env.TEST_ZK ?? "127.0.0.1:2181";
export const REDIS = Bun.env.TEST_REDIS ?? "redis://127.0.0.1:6379";
export const AMQP = Bun.env.TEST_AMQP ?? "amqp://guest:guest@127.0.0.1:5672";
export const PG = Bun.env.TEST_DATABASE_URL ?? "postgres://im:im@127.0.0.1:5432/im_test";

/**
 * Redis logical databases, one per test file that uses Redis (`netty_port` has a fixed name, and
 * each file flushes its database): files run one at a time, but never share state.
 */
export const REDIS_DB = {
  clusterChatPg: 1,
  clusterChatFanout: 2,
  cluster: 3,
  clusterStarts: 4,
  faults: 5,
  slowReader: 6,
  browser: 7,
  hostileValues: 8,
  groups: 9,
  browserGroups: 10,
  ports: 11,
  sessionRoutes: 12,
  unread: 13,
  capacity: 15, // 14 is the benchmarks' (BENCH_REDIS_DB)
  lineage: 0, // also redisPartition: files run one at a time, each cluster flushes its database first
  redisPartition: 0,
  zkPartition: 0,
  amqpPartition: 0,
  storePartition: 0,
  binary: 0,
  prometheus: 0,
  webhooks: 0,
  hosts: 0, // test/partition and bench/partition-soak.ts
  features: 0,
  browserPresence: 0,
  edits: 0,
  browserEdits: 0,
  reads: 0,
  browserReads: 0,
  browserConversations: 0,
  browserSeq: 0,
} as const;

/** The URL of Redis database `db`. */
export const redisUrl = (db: number) => `${REDIS}/${db}`;

/** The URL of RabbitMQ virtual host `vhost`. */
export const amqpUrl = (vhost: string) => `${AMQP}/${encodeURIComponent(vhost)}`;

/** Runs `rabbitmqctl -q …`; throws with its output when it fails. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const proc = Bun.spawn(["rabbitmqctl", "-q", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`rabbitmqctl ${args.join(" ")} failed (${code}): ${err || out}`);
  return out;
}

const SERVICES_SH = join(import.meta.dir, "../../scripts/services.sh");

/** Stops or starts a local service the way a new user's machine runs it (scripts/services.sh). */
export async function service(action: "stop" | "start", name: "zookeeper" | "redis"): Promise<void> {
  const args = action === "stop" ? ["stop", name] : [name];
  const p = Bun.spawn(["bash", SERVICES_SH, ...args], { stdout: "ignore", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(`scripts/services.sh ${args.join(" ")}: ${await new Response(p.stderr).text()}`);
}
