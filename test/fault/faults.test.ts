// Fault tests on a real cluster: instances killed and stopped under load, broker/Redis/ZooKeeper
// restarted under load. Every acked message must reach its receiver (live or by replay).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PORT_KEY } from "../../lib/adapters/redis/ports.ts";
import { startCluster, type Cluster, type Node } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { printTable, report, ResilientClient, settle, startLoad, type LoadReport } from "../support/chat-load.ts";
import { http } from "../support/target.ts";
import { REDIS_DB, rabbitmqctl, service } from "../support/services.ts";

const USERS = 12;
const RATE = 20; // messages per second per user
const rows: Array<[string, LoadReport]> = [];

async function sh(cmd: string): Promise<void> {
  const p = Bun.spawn(["bash", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(`${cmd}: ${await new Response(p.stderr).text()}`);
}

describe("an acked message is never lost", () => {
  let c: Cluster;
  const dead = new Set<Node>();
  const origins = () => c.nodes.filter((n) => !dead.has(n)).map((n) => `http://127.0.0.1:${n.port}`);

  /** Runs load on fresh clients around `fault`, settles, records and checks the counts. */
  async function underLoad(name: string, fault: (clients: ResilientClient[]) => Promise<void>): Promise<LoadReport> {
    const tag = name.replace(/\W+/g, "-");
    const clients = Array.from({ length: USERS }, (_, i) => new ResilientClient(`${tag}-u${i}`, origins));
    for (const cl of clients) await cl.start(); // least-connections spreads them over the instances
    const load = startLoad(clients, RATE);
    await Bun.sleep(1000);
    await fault(clients);
    await Bun.sleep(1500);
    load.stop();
    await settle(clients, 20_000);
    const r = report(clients);
    for (const cl of clients) cl.stop();
    rows.push([name, r]);
    printTable(rows.slice(-1));
    expect(r.sent).toBeGreaterThan(USERS * RATE);
    expect(r.unacked).toBe(0);
    expect(r.acked).toBe(r.sent);
    expect(r.ackConflicts).toBe(0);
    expect(r.lost).toBe(0);
    return r;
  }

  beforeAll(async () => {
    c = await startCluster({ size: 3, redisDb: REDIS_DB.faults, env: { ZK_SESSION_TIMEOUT_MS: "4000" } });
  }, 60_000);
  afterAll(async () => {
    printTable(rows);
    await c?.stop();
  }, 60_000);

  /** The live instance holding the most of `clients` (where they landed depends on the load). */
  const busiest = (clients: ResilientClient[]) => {
    const held = (n: Node) => clients.filter((cl) => cl.port === n.port).length;
    const victim = c.nodes.filter((n) => !dead.has(n)).sort((x, y) => held(y) - held(x))[0];
    return { victim, onVictim: clients.filter((cl) => cl.port === victim.port) };
  };

  test("SIGKILL of one of three instances: its users reconnect elsewhere and replay", async () => {
    await underLoad("SIGKILL one instance", async (clients) => {
      const { victim, onVictim } = busiest(clients);
      expect(onVictim.length).toBeGreaterThan(0);
      victim.proc.kill("SIGKILL");
      dead.add(victim);
    });
    await c.start(); // back to three for the next scenarios
  }, 60_000);

  test("SIGTERM of an instance: its clients get 1001, reconnect, nothing is lost, port and znode released", async () => {
    let victim!: Node;
    let onVictim: ResilientClient[] = [];
    await underLoad("SIGTERM one instance", async (clients) => {
      ({ victim, onVictim } = busiest(clients));
      expect(onVictim.length).toBeGreaterThan(0);
      victim.proc.kill("SIGTERM");
      dead.add(victim);
      expect(await victim.proc.exited).toBe(0);
    });
    for (const cl of onVictim) expect(cl.closeCodes[0]).toBe(1001);
    expect(String(victim.port) in (await c.redis.hgetall(PORT_KEY))).toBe(false);
    expect((await c.serverList()).map((n) => JSON.parse(n.data).port)).not.toContain(victim.port);
    await c.start();
  }, 60_000);

  test("RabbitMQ stopped and started under load: health says 503 meanwhile, held frames flush in order", async () => {
    await underLoad("RabbitMQ restart", async () => {
      await rabbitmqctl("stop_app");
      const h = await eventually(async () => {
        const r = await http(`${origins()[0]}/health`, "GET");
        return r.status === 503 && r.body.failing?.includes("rabbitmq") ? r : undefined;
      }, 5000);
      expect(h).toBeDefined();
      await Bun.sleep(1000);
      await rabbitmqctl("start_app");
      await rabbitmqctl("await_startup");
      expect(await eventually(async () => (await http(`${origins()[0]}/health`, "GET")).status === 200, 20_000, 200)).toBe(true);
    });
  }, 90_000);

  test("Redis restarted under load: routes are rebuilt from live connections and chat goes on", async () => {
    await underLoad("Redis restart", async () => {
      await service("stop", "redis");
      try {
        await Bun.sleep(1000);
      } finally {
        await service("start", "redis"); // never left stopped for the files after this one
      }
      expect(await eventually(async () => (await http(`${origins()[0]}/health`, "GET")).status === 200, 15_000, 200)).toBe(true);
    });
    // The ports of live instances are back in netty_port after the restart lost them. (Redis may
    // also have loaded an older snapshot with ports of long-gone test clusters: those are not ours.)
    const live = c.nodes.filter((n) => !dead.has(n)).map((n) => String(n.port)).sort();
    const missing = async () => {
      const hash = await c.redis.hgetall(PORT_KEY);
      return live.filter((p) => !(p in hash));
    };
    await eventually(async () => (await missing()).length === 0, 8000);
    expect(await missing()).toEqual([]);
  }, 90_000);

  test("ZooKeeper restarted under load: instances keep serving and re-register", async () => {
    await underLoad("ZooKeeper restart", async () => {
      await service("stop", "zookeeper");
      try {
        // Longer than the 4 s session timeout: instances treat their sessions as expired, open new
        // ones and re-register, while their old nodes vanish later (others must not route to no one).
        await Bun.sleep(5000);
      } finally {
        await service("start", "zookeeper"); // never left stopped for the files after this one
      }
    });
    const live = c.nodes.filter((n) => !dead.has(n)).map((n) => n.port).sort();
    expect(await eventually(async () => (await c.serverList()).map((n) => JSON.parse(n.data).port).sort().join() === live.join(), 15_000, 200)).toBe(true);
  }, 90_000);
});

describe("a client that stops reading", () => {
  test("is disconnected once its send buffer is full, and the server's memory stays bounded", async () => {
    const c = await startCluster({ size: 1, redisDb: REDIS_DB.slowReader, env: { SEND_BUFFER_MAX_BYTES: String(1 << 20), FRAME_RATE_PER_CONN: "0" } });
    try {
      const port = c.nodes[0].port;
      // A peer that logs in and then never reads (Python: no recv after the handshake).
      const py = `
import socket, time, os, base64, struct, json
s = socket.create_connection(("127.0.0.1", ${port}))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"GET /ws HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n")
buf = b""
while b"\\r\\n\\r\\n" not in buf: buf += s.recv(1)
p = json.dumps({"chatMsg": {"senderId": "slow", "msgType": 0}}).encode()
mask = os.urandom(4)
s.sendall(bytes([0x81, 0x80 | len(p)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(p)))
print("ready", flush=True)
time.sleep(60)
`;
      const peer = Bun.spawn(["python3", "-c", py], { stdout: "pipe" });
      await peer.stdout.getReader().read();
      const rss = async () => Number(/VmRSS:\s+(\d+)/.exec(await Bun.file(`/proc/${c.nodes[0].proc.pid}/status`).text())![1]) * 1024;
      const counts = async () => JSON.parse((await c.serverList())[0].data).onlineCounts;
      expect(await eventually(async () => (await counts()) === 1, 2000)).toBe(true);
      const before = await rss();
      const sender = new ResilientClient("fast", () => [`http://127.0.0.1:${port}`]);
      await sender.start();
      const chunk = "x".repeat(16 * 1024);
      let sentBytes = 0;
      // 50 MB towards the slow reader, at most 32 unacked at a time (a well-behaved sender).
      expect(await eventually(async () => (await counts()) === 2, 2000)).toBe(true); // slow and fast, both bound
      let disconnectedAtBytes = -1;
      while (sentBytes < 50 * 1024 * 1024) {
        while (sender.pending >= 32) await Bun.sleep(1);
        sender.send("slow", chunk);
        sentBytes += chunk.length;
        if (disconnectedAtBytes < 0 && sentBytes % (1 << 20) === 0 && (await counts()) === 1 /* only "fast" */) disconnectedAtBytes = sentBytes;
      }
      const disconnected = await eventually(async () => (await counts()) === 1, 10_000, 100);
      await Bun.sleep(2000); // let the heap settle: what remains is what the server kept
      const grown = (await rss()) - before;
      const mb = (n: number) => (n / 1048576).toFixed(1);
      console.log(`slow reader: sent ${mb(sentBytes)} MB, disconnected after ${mb(disconnectedAtBytes)} MB, RSS grew ${mb(grown)} MB after settling`);
      expect(disconnected).toBe(true);
      // Cut off once its 1 MiB send buffer (plus the kernel's socket buffers) was full, not after the 50 MB.
      expect(disconnectedAtBytes).toBeGreaterThan(0);
      expect(disconnectedAtBytes).toBeLessThan(24 * 1024 * 1024);
      // A sanity bound: working memory of handling 50 MB of messages (heap high-water, 20–75 MB here).
      expect(grown).toBeLessThan(160 * 1024 * 1024);
      sender.stop();
      peer.kill();
    } finally {
      await c.stop();
    }
  }, 90_000);
});
