// A real cluster for tests: N `bun run server.ts` processes on real ZooKeeper, Redis, RabbitMQ,
// with a namespace, Redis database, vhost and SQLite file of their own; cleaned up afterwards.
import type { Subprocess } from "bun";
import Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectZk, type ZkClient } from "../../lib/adapters/zookeeper/client.ts";
import { REDIS, ZK, amqpUrl, rabbitmqctl, redisUrl } from "./services.ts";
import type { Target } from "./target.ts";
import { removeTree } from "./zk.ts";

const ROOT = join(import.meta.dir, "../..");

export interface Node {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  env: Record<string, string>;
  log: string[];
  /** The address clients reach it at (127.0.0.1 unless it runs on a test host). */
  ip: string;
  /** The host slot it was started on (`ClusterOptions.host`), if any. */
  slot?: number;
}

/** Where an instance runs: a command prefix (e.g. `ip netns exec <ns>`) and its own address. */
export interface InstanceHost {
  ip: string;
  prefix: string[];
  env?: Record<string, string>;
}


/** Reads a process's output line by line into `log`, resolving the port it announces. */
function watchOutput(node: Pick<Node, "proc" | "log">): Promise<number> {
  return new Promise((resolve, reject) => {
    const read = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let buf = "";
      const reader = stream.getReader();
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          node.log.push(line);
          const m = /listening on [^ ]+:(\d+)/.exec(line);
          if (m) resolve(Number(m[1]));
        }
      }
    };
    void read(node.proc.stdout);
    void read(node.proc.stderr);
    node.proc.exited.then((code) => reject(new Error(`instance exited (${code}) before listening:\n${node.log.join("\n")}`)));
  });
}

/**
 * Starts `bun run server.ts` (or `command`, e.g. the compiled executable, in `cwd`) with `env` over
 * this process's; resolves once it announces its port.
 */
export async function spawnServer(env: Record<string, string>, command = ["bun", "run", "server.ts"], cwd = ROOT): Promise<Node> {
  const fullEnv = { ...(process.env as Record<string, string>), ...env };
  const proc = Bun.spawn(command, { cwd, env: fullEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const partial = { proc, env: fullEnv, log: [] as string[] };
  const port = await Promise.race([
    watchOutput(partial),
    Bun.sleep(20000).then(() => Promise.reject(new Error(`instance did not listen within 20 s:\n${partial.log.join("\n")}`))),
  ]);
  return { ...partial, port, ip: fullEnv.HOST_IP ?? "127.0.0.1" };
}

export interface ClusterOptions {
  size: number;
  env?: Record<string, string>;
  /** Redis logical database: each test file takes its own (REDIS_DB in test/support/services.ts). */
  redisDb: number;
  /** What each instance runs (default `bun run server.ts` in the checkout), and where. */
  command?: string[];
  cwd?: string;
  /** The host of the instance started in slot `slot` (0, 1, …), e.g. a network namespace. */
  host?: (slot: number) => InstanceHost;
}

export type Cluster = Target & {
  readonly nodes: Node[];
  readonly namespace: string;
  readonly redis: Redis;
  readonly zk: ZkClient;
  readonly baseEnv: Record<string, string>;
  /**
   * Starts one more instance (e.g. to replace a killed one), in host slot `slot` (default: the
   * next one); resolves once it is listening.
   */
  start(env?: Record<string, string>, slot?: number): Promise<Node>;
  /** Data of every `/server-list` child, read from ZooKeeper now. */
  serverList(): Promise<Array<{ name: string; data: string }>>;
};

/** Starts a cluster of `size` instances and waits until each one answers /health. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const tag = `imtest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), `${tag}-`));
  const redis = new Redis(redisUrl(opts.redisDb), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((e) => {
    throw new Error(`Redis is not reachable at ${REDIS} (${e.message}): run scripts/services.sh`);
  });
  await redis.flushdb();
  const zk = await connectZk({ connect: ZK, sessionTimeoutMs: 10000, connectTimeoutMs: 5000 }).catch((e) => {
    throw new Error(`ZooKeeper is not reachable at ${ZK} (${e.message}): run scripts/services.sh`);
  });
  await rabbitmqctl("add_vhost", tag);
  await rabbitmqctl("set_permissions", "-p", tag, "guest", ".*", ".*", ".*");
  const baseEnv: Record<string, string> = {
    ZK_CONNECT: ZK,
    ZK_NAMESPACE: tag,
    REDIS_URL: redisUrl(opts.redisDb),
    AMQP_URL: amqpUrl(tag),
    DATABASE_URL: `sqlite://${join(dir, "chat.db")}`,
    HOST_IP: "127.0.0.1",
    BIND_HOST: "127.0.0.1",
    PORT_BASE: String(21000 + Math.floor(Math.random() * 400) * 100),
    PORT_STEP: "1",
    LOG_LEVEL: "warn",
    ...opts.env,
  };
  const nodes: Node[] = [];

  async function start(env: Record<string, string> = {}, slot = nodes.length): Promise<Node> {
    const host = opts.host?.(slot);
    const command = [...(host?.prefix ?? []), ...(opts.command ?? ["bun", "run", "server.ts"])];
    const node = await spawnServer({ ...baseEnv, ...(host ? { HOST_IP: host.ip, BIND_HOST: host.ip } : {}), ...host?.env, ...env }, command, opts.cwd);
    nodes.push({ ...node, slot: host ? slot : undefined });
    return nodes[nodes.length - 1];
  }

  const cluster: Cluster = {
    get size() {
      return nodes.length;
    },
    nodes,
    namespace: tag,
    redis,
    zk,
    baseEnv,
    start,
    wsUrl: (i = 0) => `ws://${nodes[i].ip}:${nodes[i].port}/ws`,
    httpUrl: (i = 0) => `http://${nodes[i].ip}:${nodes[i].port}`,
    async serverList() {
      const base = `/${tag}/server-list`;
      const names = await zk.getChildren(base).catch(() => [] as string[]);
      // A node listed may be gone before its data is read (an instance just died): skip it.
      const entries = await Promise.all(
        names.sort().map((name) => zk.getData(`${base}/${name}`).then((d) => ({ name, data: d.toString() }), () => undefined)),
      );
      return entries.filter((e): e is { name: string; data: string } => e !== undefined);
    },
    async stop() {
      for (const n of nodes) n.proc.kill("SIGTERM");
      await Promise.all(nodes.map((n) => Promise.race([n.proc.exited, Bun.sleep(8000).then(() => n.proc.kill("SIGKILL"))])));
      await removeTree(zk, `/${tag}`).catch(() => {});
      await zk.close();
      await redis.flushdb().catch(() => {});
      redis.disconnect();
      await rabbitmqctl("delete_vhost", tag).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < opts.size; i++) await start();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
