// Partition tests' clusters: instance 0 reaches every service directly, instance 1 reaches one of
// them through a forwarder that can go silent (test/support/blackhole-proxy.ts).
import { startBlackholeProxy, type BlackholeProxy } from "./blackhole-proxy.ts";
import { startCluster, type Cluster } from "./cluster.ts";
import { TestClient } from "./ws-client.ts";

export interface CutCluster {
  readonly c: Cluster;
  readonly proxy: BlackholeProxy;
  /** A logged-in client on instance `i`, closed by `stop()`. */
  login(i: number, userId: string): Promise<TestClient>;
  stop(): Promise<void>;
}

export interface CutClusterOptions {
  /** The service's address, e.g. `redis://127.0.0.1:6379` or `127.0.0.1:2181`. */
  service: string;
  defaultPort: number;
  redisDb: number;
  /** Both instances' settings. */
  env?: Record<string, string>;
  /** Instance 1's settings that point it at the forwarder listening on `port`. */
  through(port: number, c: Cluster): Record<string, string>;
}

/** `url` (with or without a scheme) with its first host:port as a URL, for reading and rewriting. */
const asUrl = (url: string) => new URL(url.includes("://") ? url : `tcp://${url.split(",")[0]}`);

/** `url` with its host:port replaced by 127.0.0.1:`port`. */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.host = `127.0.0.1:${port}`;
  return u.toString();
}

export async function startCutCluster(o: CutClusterOptions): Promise<CutCluster> {
  const service = asUrl(o.service);
  const proxy = await startBlackholeProxy({ host: service.hostname, port: Number(service.port || o.defaultPort) });
  const c = await startCluster({ size: 1, redisDb: o.redisDb, env: o.env });
  await c.start(o.through(proxy.port, c)); // instance 1: through the forwarder
  const clients: TestClient[] = [];
  return {
    c,
    proxy,
    async login(i, userId) {
      const client = await TestClient.login(c.wsUrl(i), userId);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const cl of clients) cl.close();
      await c.stop();
      await proxy.close();
    },
  };
}
