// The Curator-compatible read-write lock against a real ZooKeeper: separate processes, readers, dead holders.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zookeeper from "node-zookeeper-client";
import {
  createReadWriteLock,
  decide,
  LockLostError,
  LockTimeoutError,
  sortLockNodes,
  type LockZk,
} from "../../lib/adapters/zookeeper/rw-lock.ts";
import { connectZk, ZkClient } from "../../lib/adapters/zookeeper/client.ts";
import { expireSession, removeTree } from "../support/zk.ts";
import { ZK } from "../support/services.ts";

const NS = `/imtest-${randomUUID().slice(0, 8)}`;
const LOCK = `${NS}/rw-lock`;
const WORKER = join(import.meta.dir, "fixtures", "lock-worker.ts");
const CURATOR_NAME = /^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-__(READ|WRIT)__\d{10}$/;

const clients: ZkClient[] = [];
let admin: ZkClient;
let dir: string;

async function client(): Promise<ZkClient> {
  try {
    const c = await connectZk({ connect: ZK, sessionTimeoutMs: 4000, connectTimeoutMs: 5000 });
    clients.push(c);
    return c;
  } catch (err) {
    throw new Error(`ZooKeeper is not reachable at ${ZK} (${(err as Error).message}); run scripts/services.sh zookeeper`);
  }
}


/** A promise and its resolve function, to hold a lock until the test lets go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const lockChildren = () => admin.getChildren(LOCK).catch(() => [] as string[]);

beforeAll(async () => {
  admin = await client();
  await admin.mkdirp(LOCK);
  dir = mkdtempSync(join(tmpdir(), "rw-lock-"));
});

afterAll(async () => {
  await removeTree(admin, NS);
  for (const c of clients) await c.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("lock node order", () => {
  test("nodes sort by the sequence after the lock name, whatever their uuid prefix", () => {
    const a = "_c_ffffffff-0000-0000-0000-000000000000-__WRIT__0000000003";
    const b = "_c_00000000-0000-0000-0000-000000000000-__READ__0000000001";
    const c = "_c_88888888-0000-0000-0000-000000000000-__READ__0000000002";
    expect(sortLockNodes([a, b, c])).toEqual([b, c, a]);
  });

  test("a writer acquires only first in line and watches the node just before it", () => {
    const nodes = ["_c_1-__READ__0000000001", "_c_2-__WRIT__0000000002", "_c_3-__WRIT__0000000003"];
    expect(decide(nodes, "_c_3-__WRIT__0000000003", "__WRIT__")).toEqual({ acquired: false, watch: nodes[1] });
    expect(decide(nodes.slice(2), "_c_3-__WRIT__0000000003", "__WRIT__")).toEqual({ acquired: true });
  });

  test("a reader acquires when no writer precedes it, else watches the first writer", () => {
    const nodes = ["_c_1-__READ__0000000001", "_c_2-__WRIT__0000000002", "_c_3-__WRIT__0000000003", "_c_4-__READ__0000000004"];
    expect(decide(nodes, "_c_1-__READ__0000000001", "__READ__")).toEqual({ acquired: true });
    expect(decide(nodes, "_c_4-__READ__0000000004", "__READ__")).toEqual({ acquired: false, watch: nodes[1] });
    expect(decide(nodes, "_c_5-__READ__0000000005", "__READ__")).toBeNull();
  });
});

describe("read-write lock on a real ZooKeeper", () => {
  test("four processes taking the write lock in turn never overlap and leave no lock node behind", async () => {
    const markers = join(dir, "markers.log");
    const counter = `${NS}/counter`;
    await admin.create(counter, "0");
    const iterations = 12;
    const startAt = Date.now() + 1500;
    const workers = [0, 1, 2, 3].map((id) =>
      Bun.spawn(["bun", WORKER, "loop", ZK, LOCK, String(id), String(iterations), markers, counter, String(startAt)], {
        stdout: "pipe",
        stderr: "inherit",
      }),
    );
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0, 0]);

    const lines = readFileSync(markers, "utf8").trim().split("\n");
    expect(lines.length).toBe(4 * iterations * 2);
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, exit] = [lines[i].split(" "), lines[i + 1].split(" ")];
      expect(enter[0]).toBe("enter");
      expect(exit).toEqual(["exit", enter[1], enter[2]]);
    }
    expect((await admin.getData(counter)).toString()).toBe(String(4 * iterations));
    expect(await lockChildren()).toEqual([]);
  }, 60_000);

  test("two readers hold the lock together and a writer waits until both have released", async () => {
    const [r1, r2, w] = [await client(), await client(), await client()];
    const [g1, g2] = [gate(), gate()];
    let readers = 0;
    let maxReaders = 0;
    const read = (zk: ZkClient, g: ReturnType<typeof gate>) =>
      createReadWriteLock(zk, { path: LOCK }).withReadLock(async () => {
        maxReaders = Math.max(maxReaders, ++readers);
        await g.opened;
        readers--;
      });
    const reads = [read(r1, g1), read(r2, g2)];
    while (maxReaders < 2) await Bun.sleep(10);

    let writerIn = false;
    const write = createReadWriteLock(w, { path: LOCK }).withWriteLock(async () => {
      writerIn = true;
      expect(readers).toBe(0);
    });
    await Bun.sleep(300);
    const names = await lockChildren();
    expect(names).toHaveLength(3);
    for (const name of names) expect(name).toMatch(CURATOR_NAME);
    expect(sortLockNodes(names).map((n) => n.includes("__WRIT__"))).toEqual([false, false, true]);

    g1.open();
    await Bun.sleep(300);
    expect(writerIn).toBe(false);
    g2.open();
    await Promise.all([...reads, write]);
    expect(writerIn).toBe(true);
    expect(await lockChildren()).toEqual([]);
  });

  test("a reader waits while a writer holds the lock, and a timed-out waiter removes its node", async () => {
    const [w, r] = [await client(), await client()];
    const g = gate();
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    const write = createReadWriteLock(w, { path: LOCK }).withWriteLock(async () => {
      held();
      await g.opened;
    });
    await holding;
    const readLock = createReadWriteLock(r, { path: LOCK });
    await expect(readLock.withReadLock(async () => {}, { timeoutMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(await lockChildren()).toHaveLength(1);

    let readerIn = false;
    const read = readLock.withReadLock(async () => {
      readerIn = true;
    });
    await Bun.sleep(200);
    expect(readerIn).toBe(false);
    g.open();
    await Promise.all([write, read]);
    expect(readerIn).toBe(true);
  });

  test("killing the holder's process releases the lock within the session timeout", async () => {
    const holder = Bun.spawn(["bun", WORKER, "hold", ZK, LOCK], { stdout: "pipe", stderr: "inherit" });
    const reader = holder.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("held");

    const zk = await client();
    const lock = createReadWriteLock(zk, { path: LOCK });
    await expect(lock.withWriteLock(async () => {}, { timeoutMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError);

    const killedAt = Date.now();
    holder.kill("SIGKILL");
    await lock.withWriteLock(async () => {}, { timeoutMs: 15_000 });
    // Session timeout 4 s, plus ZooKeeper's expiry tick granularity.
    expect(Date.now() - killedAt).toBeLessThan(4000 + 3000);
    expect(await lockChildren()).toEqual([]);
  }, 30_000);

  test("a holder's signal aborts when its session expires, and another client then gets the lock", async () => {
    const [a, b] = [await client(), await client()];
    let reason: unknown;
    await createReadWriteLock(a, { path: LOCK }).withWriteLock(async (signal) => {
      const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      await expireSession(a, ZK);
      await aborted;
      reason = signal.reason;
    });
    expect(reason).toBeInstanceOf(LockLostError);
    await createReadWriteLock(b, { path: LOCK }).withWriteLock(async () => {}, { timeoutMs: 2000 });
    expect(await lockChildren()).toEqual([]);
  }, 20_000); // expiring a session takes up to five 2 s attempts on a loaded machine

  test("a connection loss during create finds the node by its protected prefix instead of leaking it", async () => {
    const zk = await client();
    let lost = 0;
    // The create reaches the server but its answer is lost, as when the connection drops mid-request.
    const flaky: LockZk = {
      create: async (...args) => {
        const path = await zk.create(...args);
        if (lost++ === 0) throw (zookeeper.Exception as any).create(zookeeper.Exception.CONNECTION_LOSS);
        return path;
      },
      mkdirp: (path) => zk.mkdirp(path),
      getChildren: (path, watcher) => zk.getChildren(path, watcher),
      getData: (path, watcher) => zk.getData(path, watcher),
      remove: (path, version) => zk.remove(path, version),
      on: (event, fn) => zk.on(event, fn),
      connected: zk.connected,
      state: zk.state,
    };
    let inside: string[] = [];
    await createReadWriteLock(flaky, { path: LOCK }).withWriteLock(async () => {
      inside = await lockChildren();
    });
    expect(lost).toBe(1);
    expect(inside).toHaveLength(1);
    expect(await lockChildren()).toEqual([]);
  });
});
