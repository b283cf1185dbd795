// The ZooKeeper registry against a real ZooKeeper: exact znodes, watched views, coalesced counts, expiry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createZkRegistry, type ZkRegistry } from "../../lib/adapters/zookeeper/registry.ts";
import { connectZk, ZkClient } from "../../lib/adapters/zookeeper/client.ts";
import { CreateMode } from "../../lib/adapters/zookeeper/library.ts";
import { firstWorkerIdOf } from "../../lib/adapters/zookeeper/worker-ids.ts";
import { eventually } from "../support/wait.ts";
import { expireSession, removeTree } from "../support/zk.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";
import type { ServerNode } from "../../lib/core/directory.ts";
import { ZK } from "../support/services.ts";

const NS = `imtest-${randomUUID().slice(0, 8)}`;
const LIST = `/${NS}/server-list`;

let admin: ZkClient;
const registries: ZkRegistry[] = [];
let nextPort = 9000;

const clients: ZkClient[] = [];

/** A registered instance on a ZooKeeper session of its own. */
async function registry(extra: { log?: Logger; port?: number } = {}): Promise<ZkRegistry> {
  const zk = await connectZk({ connect: ZK, sessionTimeoutMs: 4000 });
  clients.push(zk);
  const r = await createZkRegistry({ zk, namespace: NS, self: { ip: "127.0.0.1", port: extra.port ?? nextPort++ }, log: extra.log ?? silentLogger });
  await r.register();
  registries.push(r);
  return r;
}


const dataOf = async (path: string) => (await admin.getData(path)).toString();

beforeAll(async () => {
  try {
    admin = await connectZk({ connect: ZK, sessionTimeoutMs: 4000, connectTimeoutMs: 5000 });
  } catch (err) {
    throw new Error(`ZooKeeper is not reachable at ${ZK} (${(err as Error).message}); run scripts/services.sh zookeeper`);
  }
});

afterAll(async () => {
  for (const r of registries) await r.close();
  for (const zk of clients) await zk.close();
  await removeTree(admin, `/${NS}`);
  await admin.close();
});

describe("ZooKeeper registry", () => {
  test("an instance registers as an im- sequential node whose data is exactly the seed's JSON", async () => {
    const r = await registry({ port: 875 });
    expect(r.nodePath).toMatch(new RegExp(`^${LIST}/im-\\d{10}$`));
    expect(await dataOf(r.nodePath!)).toBe('{"ip":"127.0.0.1","port":875,"onlineCounts":0}');
    expect(r.nodes()).toContainEqual({ ip: "127.0.0.1", port: 875, onlineCounts: 0 });
    expect(r.isLive("127.0.0.1_875")).toBe(true);
    expect(await r.health()).toBe("ok");
    await r.close();
    expect(await admin.exists(r.nodePath ?? LIST + "/none")).toBe(false);
    expect(await r.health()).toBe("zookeeper: closed");
  });

  test("the view follows instances joining and leaving, and a departure reports the node's last data", async () => {
    const a = await registry();
    const gone: ServerNode[] = [];
    a.onInstanceGone(({ instanceId, ...node }) => gone.push(node));
    const b = await registry();
    const bNode = JSON.parse(await dataOf(b.nodePath!)) as ServerNode;
    const bId = `127.0.0.1_${bNode.port}`;
    expect(await eventually(() => a.isLive(bId), 1000, 10)).toBeTruthy();

    b.setOnlineCounts(7);
    await b.flush();
    expect(await eventually(() => a.nodes().some((n) => n.port === bNode.port && n.onlineCounts === 7), 1000, 10)).toBeTruthy();

    await b.close();
    expect(await eventually(() => !a.isLive(bId), 1000, 10)).toBeTruthy();
    expect(a.nodes().some((n) => n.port === bNode.port)).toBe(false);
    expect(await eventually(() => gone.length > 0, 1000, 10)).toBeTruthy();
    expect(gone).toEqual([{ ip: "127.0.0.1", port: bNode.port, onlineCounts: 7 }]);
  });

  test("a node deleted while its instance stays live through a newer node is not reported gone", async () => {
    const [a, b] = [await registry(), await registry()];
    const gone: ServerNode[] = [];
    a.onInstanceGone((node) => gone.push(node));
    const bData = await dataOf(b.nodePath!);
    const bId = `127.0.0.1_${JSON.parse(bData).port}`;
    const countOfB = () => a.nodes().find((n) => `${n.ip}_${n.port}` === bId)?.onlineCounts;
    // What a leftover node of the same instance looks like (another session's, e.g. after a ZooKeeper restart).
    const stale = JSON.stringify({ ...JSON.parse(bData), onlineCounts: 99 });
    const leftover = await admin.create(`${LIST}/im-`, stale, CreateMode.EPHEMERAL_SEQUENTIAL);
    expect(await eventually(() => countOfB() === 99, 1000, 10)).toBeTruthy();
    expect(a.nodes().filter((n) => `${n.ip}_${n.port}` === bId)).toHaveLength(1);
    await admin.remove(leftover);
    expect(await eventually(() => countOfB() === 0, 1000, 10)).toBeTruthy();
    expect(a.isLive(bId)).toBe(true);
    expect(gone).toEqual([]);
  });

  test("a burst of 1,000 count changes takes a handful of lock acquisitions and is exact within a second", async () => {
    const r = await registry();
    const before = r.lockAcquisitions;
    let count = 0;
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 100; i++) r.setOnlineCounts((count += i % 3 === 2 ? -1 : 1));
      await Bun.sleep(20);
    }
    const expected = `{"ip":"127.0.0.1","port":${JSON.parse(await dataOf(r.nodePath!)).port},"onlineCounts":${count}}`;
    expect(await eventually(async () => (await dataOf(r.nodePath!)) === expected, 1000, 10)).toBeTruthy();
    await r.flush(); // waits for the write in flight, whose lock release may trail the data by a moment
    expect(r.lockAcquisitions - before).toBeLessThanOrEqual(6);
    expect(r.lockAcquisitions - before).toBeGreaterThan(0);
    expect(await admin.getChildren(`/${NS}/rw-lock`)).toEqual([]);
  });

  test("a negative count is written as zero", async () => {
    const r = await registry();
    r.setOnlineCounts(3);
    await r.flush();
    r.setOnlineCounts(-2);
    await r.flush();
    expect(JSON.parse(await dataOf(r.nodePath!)).onlineCounts).toBe(0);
  });

  test("a drained instance leaves the other registry's view within a second and writes no more counts", async () => {
    const [a, b] = [await registry(), await registry()];
    const bPath = b.nodePath!;
    const bId = `127.0.0.1_${JSON.parse(await dataOf(bPath)).port}`;
    expect(await eventually(() => a.isLive(bId), 1000, 10)).toBeTruthy();
    await b.drain();
    expect(await eventually(() => !a.isLive(bId), 1000, 10)).toBeTruthy();
    expect(b.nodes().some((n) => `${n.ip}_${n.port}` === bId)).toBe(false);
    expect(await b.health()).not.toBe("ok");
    const before = (await admin.getChildren(LIST)).length;
    b.setOnlineCounts(5);
    await b.flush();
    await Bun.sleep(300);
    expect(await admin.exists(bPath)).toBe(false);
    expect((await admin.getChildren(LIST)).length).toBe(before);
  });

  test("after its session expires an instance logs a warning and re-registers with its current count and worker id", async () => {
    const warnings: string[] = [];
    const log: Logger = { ...silentLogger, warn: (event) => void warnings.push(event), child: () => log };
    const r = await registry({ log });
    const other = await registry();
    r.setOnlineCounts(42);
    await r.flush();
    const [oldPath, workerId] = [r.nodePath!, r.workerId];
    const port = JSON.parse(await dataOf(oldPath)).port;

    await expireSession(r.zk, ZK);
    r.setOnlineCounts(43);
    expect(await eventually(() => r.nodePath !== undefined && r.nodePath !== oldPath, 10_000, 10)).toBeTruthy();
    expect(await eventually(async () => JSON.parse(await dataOf(r.nodePath!)).onlineCounts === 43, 2000, 10)).toBeTruthy();
    expect(await admin.exists(oldPath)).toBe(false);
    expect(r.workerId).toBe(workerId);
    expect(warnings).toContain("registry.session_expired");
    expect(await r.health()).toBe("ok");
    expect(await eventually(() => other.isLive(`127.0.0.1_${port}`), 1000, 10)).toBeTruthy();
    expect(other.nodes().filter((n) => n.port === port)).toHaveLength(1);
  }, 20_000);

  test("worker ids are unique among live instances and one held by another session is skipped", async () => {
    const live = await Promise.all([1, 2, 3, 4].map(() => registry()));
    const ids = live.map((r) => r.workerId);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(0);
    for (const id of ids) expect(id).toBeLessThan(1024);

    // Hold the worker id the next instance starts probing at (a hash of its ip_port), and the one after.
    const squatter = await connectZk({ connect: ZK, sessionTimeoutMs: 4000 });
    try {
      const port = nextPort;
      const next = firstWorkerIdOf(`127.0.0.1_${port}`);
      for (const id of [next, (next + 1) % 1024]) {
        await squatter.create(`/${NS}/worker-ids/${id}`, "squatter", CreateMode.EPHEMERAL).catch(() => {});
      }
      const r = await registry({ port });
      expect(ids).not.toContain(r.workerId);
      expect(r.workerId).not.toBe(next);
      expect(r.workerId).not.toBe((next + 1) % 1024);
    } finally {
      await squatter.close();
    }
  });
});
