// The ZooKeeper layout against the real Curator (test/java/lineage/CuratorProbe.java): Curator's
// cache reads our /server-list nodes as the seed's NettyServerNode and sees them go; Curator's
// InterProcessReadWriteLock and ours exclude each other. The harness checks itself: two Curator
// holders exclude each other, and a writer that ignores the lock is caught.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectZk, type ZkClient } from "../../lib/adapters/zookeeper/client.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { runJava, spawnJava, type JavaProcess } from "../support/java.ts";
import { REDIS_DB, ZK } from "../support/services.ts";
import { removeTree } from "../support/zk.ts";

const NS = `/imtest-curator-${randomUUID().slice(0, 8)}`;
const LOCK = `${NS}/rw-lock`;
const OUR_WORKER = join(import.meta.dir, "../cluster/fixtures/lock-worker.ts");
let admin: ZkClient;
let dir: string;

beforeAll(async () => {
  admin = await connectZk({ connect: ZK, sessionTimeoutMs: 4000, connectTimeoutMs: 5000 });
  await admin.mkdirp(LOCK);
  dir = mkdtempSync(join(tmpdir(), "curator-"));
});
afterAll(async () => {
  await removeTree(admin, NS).catch(() => {});
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

type Worker = { kind: "ours" | "curator" | "nolock"; id: number };

/** Runs the workers' loops at once (each `n` critical sections); the markers and the counter they leave. */
async function contend(workers: Worker[], n: number): Promise<{ lines: string[][]; counter: number }> {
  const tag = randomUUID().slice(0, 8);
  const markers = join(dir, `markers-${tag}.log`);
  const counter = `${NS}/counter-${tag}`;
  await admin.create(counter, "0");
  const startAt = String(Date.now() + 2500); // every JVM and Bun process is up by then
  const runs = workers.map(async (w) => {
    const args = [ZK, LOCK, String(w.id), String(n), markers, counter, startAt];
    if (w.kind !== "ours") return runJava("CuratorProbe", ["loop", ...args, ...(w.kind === "nolock" ? ["nolock"] : [])]);
    const proc = Bun.spawn(["bun", OUR_WORKER, "loop", ...args], { stdout: "pipe", stderr: "pipe" });
    if ((await proc.exited) !== 0) throw new Error(`our lock worker failed: ${await new Response(proc.stderr).text()}`);
    return [await new Response(proc.stdout).text()];
  });
  await Promise.all(runs);
  const lines = readFileSync(markers, "utf8").trim().split("\n").map((l) => l.split(" "));
  return { lines, counter: Number((await admin.getData(counter)).toString()) };
}

/** True when every "enter" is followed by its own "exit": no two critical sections overlapped. */
function serial(lines: string[][]): boolean {
  for (let i = 0; i < lines.length; i += 2) {
    const [enter, exit] = [lines[i], lines[i + 1]];
    if (enter[0] !== "enter" || exit?.[0] !== "exit" || exit[1] !== enter[1] || exit[2] !== enter[2]) return false;
  }
  return true;
}

describe("the read-write lock against Curator's InterProcessReadWriteLock", () => {
  test("harness: two Curator holders exclude each other", async () => {
    const { lines, counter } = await contend([{ kind: "curator", id: 1 }, { kind: "curator", id: 2 }], 30);
    expect(lines.length).toBe(120);
    expect(serial(lines)).toBe(true);
    expect(counter).toBe(60);
  }, 60_000);

  test("harness: a writer that ignores the lock is caught", async () => {
    const { lines, counter } = await contend([{ kind: "curator", id: 1 }, { kind: "nolock", id: 2 }], 60);
    expect(serial(lines) && counter === 120).toBe(false);
  }, 60_000);

  test("our lock and Curator's exclude each other under churn, both ways", async () => {
    const { lines, counter } = await contend([{ kind: "ours", id: 1 }, { kind: "curator", id: 2 }, { kind: "ours", id: 3 }, { kind: "curator", id: 4 }], 25);
    expect(lines.length).toBe(200);
    expect(serial(lines)).toBe(true);
    expect(counter).toBe(100);
    // Both kinds really took part, interleaved: neither ran all its turns before the other started.
    const order = lines.filter((l) => l[0] === "enter").map((l) => (Number(l[1]) % 2 ? "ours" : "curator"));
    expect(order.indexOf("curator")).toBeLessThan(order.lastIndexOf("ours"));
    expect(order.indexOf("ours")).toBeLessThan(order.lastIndexOf("curator"));
    expect(await admin.getChildren(LOCK)).toEqual([]);
  }, 90_000);

  test("Curator lists our write-lock node among its participants while we hold it", async () => {
    const holder = Bun.spawn(["bun", OUR_WORKER, "hold", ZK, LOCK], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("held");
      const [ours] = await admin.getChildren(LOCK);
      expect(ours).toMatch(/__WRIT__\d{10}$/);
      const participants = await runJava("CuratorProbe", ["participants", ZK, LOCK]);
      expect(participants).toEqual([`${LOCK}/${ours}`]);
    } finally {
      holder.kill(9);
      await holder.exited;
    }
  }, 30_000);
});

describe("Curator's cache on /server-list", () => {
  let c: Cluster;
  let watch: JavaProcess;
  beforeAll(async () => {
    c = await startCluster({ size: 2, redisDb: REDIS_DB.lineage, env: { ZK_SESSION_TIMEOUT_MS: "3000" } });
    watch = await spawnJava("CuratorProbe", ["watch", ZK, `/${c.namespace}/server-list`]);
    await watch.line((l) => l === "READY", 30_000);
  }, 90_000);
  afterAll(async () => {
    await watch?.kill();
    await c?.stop();
  }, 60_000);

  test("reads each instance's node strictly as the seed's NettyServerNode, and sees it deleted after kill -9", async () => {
    const nodes = await c.serverList();
    expect(nodes.length).toBe(2);
    for (const [i, node] of c.nodes.entries()) {
      const line = await watch.line((l) => l.startsWith("CREATED ") && l.includes(`"port":${node.port}`));
      const [, name, verdict, json] = line.match(/^CREATED (\S+) (OK|ERR) (.*)$/)!;
      expect(verdict).toBe("OK");
      expect(JSON.parse(json)).toMatchObject({ ip: "127.0.0.1", port: node.port });
      expect(nodes.map((n) => n.name)).toContain(name);
      if (i === 1) {
        node.proc.kill(9);
        await watch.line((l) => l === `DELETED ${name}`, 15_000);
      }
    }
  }, 60_000);
});
