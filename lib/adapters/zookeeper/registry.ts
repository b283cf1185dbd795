// The ZooKeeper instance registry: `/<ns>/server-list/im-<seq>` nodes, a watched view, coalesced counts.
//
// Worker ids: each instance claims an EPHEMERAL `/<ns>/worker-ids/<n>`, starting at `seq % 1024` of its
// server-list node and probing upwards when taken. A create is atomic, so two live sessions never hold
// one id; after a session expiry the instance first reclaims the id it had.
import type { Logger } from "../../log.ts";
import { instanceIdOf, type InstanceRegistry, type ServerNode } from "../../core/registry.ts";
import { createReadWriteLock } from "./rw-lock.ts";
import { connectZk, CreateMode, ZkCode, zkCode, ZkEventType, type ZkClient } from "./client.ts";

export interface ZkRegistryOptions {
  /** e.g. `127.0.0.1:2181`. */
  connect: string;
  /** Root of every znode, e.g. `wechat`. */
  namespace: string;
  sessionTimeoutMs: number;
  self: { ip: string; port: number };
  log: Logger;
  /** Counts are written at most this often. Default 150. */
  flushIntervalMs?: number;
  /**
   * Benchmark-only: the seed's way — every change takes the write lock, lists /server-list, reads
   * every node and writes its own (one lock acquisition per connect and per disconnect).
   */
  seedStyleCounts?: boolean;
  /** Bound on waiting for the rw-lock per write. Default 5 000. */
  lockTimeoutMs?: number;
  /** Measurements for metrics: time waiting for the write lock, and from a count change to its write. */
  observe?: { lockWaitMs(ms: number): void; flushLagMs(ms: number): void };
}

export interface ZkRegistry extends InstanceRegistry {
  /** Writes the latest count now (under the rw-lock), if it differs from what the node holds. */
  flush(): Promise<void>;
  /** How many times the rw-lock was taken to write a count. */
  readonly lockAcquisitions: number;
  /** This instance's znode, undefined while not registered. */
  readonly nodePath: string | undefined;
  /** Called after each registration, the first and those after a session expiry. */
  onRegistered(listener: (nodePath: string) => void): void;
  /** The underlying client (diagnostics and tests). */
  readonly zk: ZkClient;
}

const WORKER_IDS = 1024;
const seqOf = (name: string) => Number(name.slice(name.lastIndexOf("-") + 1));

function parseNode(data: Buffer): ServerNode | null {
  try {
    const v = JSON.parse(data.toString("utf8"));
    if (typeof v?.ip === "string" && Number.isInteger(v.port) && typeof v.onlineCounts === "number") {
      return { ip: v.ip, port: v.port, onlineCounts: v.onlineCounts };
    }
  } catch {}
  return null;
}

/** Registers this instance and resolves once it is advertised and the view of the others is loaded. */
export async function createZkRegistry(opts: ZkRegistryOptions): Promise<ZkRegistry> {
  const { self, log } = opts;
  const root = `/${opts.namespace.replace(/^\/+|\/+$/g, "")}`;
  const listPath = `${root}/server-list`;
  const workerPath = `${root}/worker-ids`;
  const flushIntervalMs = opts.flushIntervalMs ?? 150;
  const selfId = instanceIdOf(self);
  const zk = await connectZk({ connect: opts.connect, sessionTimeoutMs: opts.sessionTimeoutMs, log });
  const lock = createReadWriteLock(zk, { path: `${root}/rw-lock`, data: self.ip, log });

  const view = new Map<string, ServerNode | null>(); // child name -> data (null until read)
  let liveNodes: ServerNode[] = [];
  let liveIds = new Set<string>();
  const ownNames = new Set<string>(); // every node this instance created, across sessions
  const goneListeners: Array<(node: ServerNode) => void> = [];
  const registeredListeners: Array<(path: string) => void> = [];
  let ownName: string | undefined;
  let workerId = -1;
  let workerClaimed = false;
  let desired = 0;
  let written = -1;
  let draining = false;
  let closed = false;
  let lockAcquisitions = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let flushing: Promise<void> | undefined;
  let failures = 0;

  const json = (count: number) => JSON.stringify({ ip: self.ip, port: self.port, onlineCounts: count });

  /** Rebuilds what nodes()/isLive() answer from; a re-registered instance counts once (newest node). */
  function rebuild(): void {
    const newest = new Map<string, { seq: number; node: ServerNode }>();
    for (const [name, node] of view) {
      if (!node || (draining && ownNames.has(name))) continue;
      const id = instanceIdOf(node);
      const seq = seqOf(name);
      if ((newest.get(id)?.seq ?? -1) < seq) newest.set(id, { seq, node });
    }
    liveNodes = [...newest.values()].map((e) => e.node);
    liveIds = new Set(newest.keys());
  }

  function dropChild(name: string): void {
    if (!view.has(name)) return;
    const node = view.get(name);
    view.delete(name);
    childWatchers.delete(name);
    rebuild();
    if (name === ownName) {
      // Deleted by someone else while our session lives: advertise again.
      ownName = undefined;
      if (!draining && !closed) void recover();
    }
    // Our own old nodes, and an instance that re-registered (its newer node is live), did not leave.
    if (!node || ownNames.has(name) || liveIds.has(instanceIdOf(node))) return;
    for (const fn of goneListeners) {
      try {
        fn({ ...node });
      } catch (err) {
        log.error("registry_listener_failed", { err });
      }
    }
  }

  // One watcher function per path: the library registers a function once per path, so re-arming
  // after a reconnect or a failed attempt never stacks duplicate notifications.
  const childWatchers = new Map<string, (event: { getType(): number }) => void>();
  const listWatcher = () => {
    if (!closed) syncChildren().catch(() => retryLater(syncChildren));
  };

  /** A watch whose request failed was never set: arm it again shortly (a new session re-reads everything). */
  function retryLater(arm: () => Promise<void>, generation = zk.generation): void {
    setTimeout(() => {
      if (!closed && zk.generation === generation) arm().catch(() => retryLater(arm, generation));
    }, 500).unref();
  }

  async function watchChild(name: string): Promise<void> {
    let watcher = childWatchers.get(name);
    if (!watcher) {
      watcher = (event) => {
        if (closed) return;
        if (event.getType() === ZkEventType.NODE_DELETED) dropChild(name);
        else void watchChild(name);
      };
      childWatchers.set(name, watcher);
    }
    try {
      const node = parseNode(await zk.getData(`${listPath}/${name}`, watcher));
      if (!view.has(name)) return;
      if (!node) log.warn("registry_bad_node", { name });
      view.set(name, node);
      rebuild();
    } catch (err) {
      if (zkCode(err) === ZkCode.NO_NODE) dropChild(name);
      else if (view.has(name)) retryLater(() => watchChild(name));
    }
  }

  async function syncChildren(): Promise<void> {
    const children = (await zk.getChildren(listPath, listWatcher)).filter((name) => name.startsWith("im-"));
    const present = new Set(children);
    for (const name of [...view.keys()]) if (!present.has(name)) dropChild(name);
    const added = children.filter((name) => !view.has(name));
    for (const name of added) view.set(name, null);
    await Promise.all(added.map(watchChild));
  }

  /** After a new session: every watch is gone, so re-read the list and every node. */
  async function resync(): Promise<void> {
    const children = new Set((await zk.getChildren(listPath)).filter((name) => name.startsWith("im-")));
    for (const name of [...view.keys()]) if (!children.has(name)) dropChild(name);
    await syncChildren();
    await Promise.all([...view.keys()].map(watchChild));
  }

  async function claimWorkerId(start: number): Promise<number> {
    await zk.mkdirp(workerPath);
    for (let i = 0; i < WORKER_IDS; i++) {
      const id = (start + i) % WORKER_IDS;
      try {
        await zk.create(`${workerPath}/${id}`, selfId, CreateMode.EPHEMERAL);
        return id;
      } catch (err) {
        if (zkCode(err) !== ZkCode.NODE_EXISTS) throw err;
        // Ours from a create whose answer was lost?
        const stat = await zk.stat(`${workerPath}/${id}`);
        if (stat?.ephemeralOwner.equals(zk.sessionId)) return id;
      }
    }
    throw new Error(`zookeeper: all ${WORKER_IDS} worker ids under ${workerPath} are taken`);
  }

  /** Creates our `im-` node; after a lost answer, adopts the node this session created instead of leaking it. */
  async function createOwnNode(): Promise<string> {
    await zk.mkdirp(listPath);
    for (;;) {
      const count = desired;
      try {
        const path = await zk.create(`${listPath}/im-`, json(count), CreateMode.EPHEMERAL_SEQUENTIAL);
        written = count;
        return path.slice(listPath.length + 1);
      } catch (err) {
        if (zkCode(err) !== ZkCode.CONNECTION_LOSS || closed) throw err;
        for (const name of await zk.getChildren(listPath)) {
          const stat = await zk.stat(`${listPath}/${name}`);
          if (name.startsWith("im-") && stat?.ephemeralOwner.equals(zk.sessionId)) {
            written = count;
            return name;
          }
        }
      }
    }
  }

  /** Advertises this instance and claims its worker id; safe to retry after a failure half-way. */
  async function register(): Promise<void> {
    if (ownName && workerClaimed) return;
    if (!ownName) {
      const name = await createOwnNode();
      ownNames.add(name);
      ownName = name;
      if (!view.has(name)) view.set(name, { ip: self.ip, port: self.port, onlineCounts: written });
      rebuild();
      void watchChild(name);
    }
    if (!workerClaimed) {
      // Derived from our node's sequence the first time; after a session expiry, keep the old id if free.
      const id = await claimWorkerId(workerId >= 0 ? workerId : seqOf(ownName) % WORKER_IDS);
      if (workerId >= 0 && id !== workerId) log.warn("registry_worker_id_changed", { from: workerId, to: id });
      workerId = id;
      workerClaimed = true;
    }
    log.info("registry_registered", { path: `${listPath}/${ownName}`, workerId });
    for (const fn of registeredListeners) fn(`${listPath}/${ownName}`);
    if (desired !== written) schedule();
  }

  let recovering = false;
  async function recover(): Promise<void> {
    if (recovering) return;
    recovering = true;
    for (let attempt = 0; !closed; attempt++) {
      try {
        if (!draining) await register();
        await resync();
        break;
      } catch (err) {
        log.warn("registry_recover_failed", { err, attempt });
        await Bun.sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
    recovering = false;
  }

  zk.on("expired", () => {
    ownName = undefined;
    workerClaimed = false;
    written = -1;
    log.warn("registry_session_expired", { instance: selfId, workerId });
  });
  zk.on("session", () => void recover());

  let dirtySince = 0;
  async function writeCount(): Promise<void> {
    const asked = performance.now();
    await lock.withWriteLock(
      async (signal) => {
        lockAcquisitions++;
        opts.observe?.lockWaitMs(performance.now() - asked);
        const count = desired;
        if (!ownName || draining || closed || count === written || signal.aborted) return;
        await zk.setData(`${listPath}/${ownName}`, json(count));
        written = count;
        if (dirtySince && desired === written) {
          opts.observe?.flushLagMs(performance.now() - dirtySince);
          dirtySince = 0;
        }
      },
      { timeoutMs: opts.lockTimeoutMs ?? 5000 },
    );
  }

  async function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    while (flushing) await flushing.catch(() => {}); // never two writes in flight
    if (!ownName || draining || closed || desired === written) return;
    flushing = writeCount().finally(() => (flushing = undefined));
    await flushing;
  }

  let seedChain: Promise<void> = Promise.resolve();
  function seedStyleWrite(count: number): void {
    seedChain = seedChain.then(() =>
      lock
        .withWriteLock(async () => {
          lockAcquisitions++;
          for (const child of await zk.getChildren(listPath)) {
            await zk.getData(`${listPath}/${child}`);
            if (child === ownName) await zk.setData(`${listPath}/${child}`, json(count));
          }
          desired = written = count;
        }, { timeoutMs: 60_000 })
        .catch((err) => log.warn("registry_count_write_failed", { err })),
    );
  }

  function schedule(delayMs = flushIntervalMs): void {
    if (timer || draining || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      flush().then(
        () => (failures = 0),
        (err) => {
          // Logged once per failure streak; retried until it succeeds.
          if (failures++ === 0) log.warn("registry_count_write_failed", { err });
          schedule(Math.min(5000, flushIntervalMs * 2 ** failures));
        },
      );
    }, delayMs);
  }

  async function deregister(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    while (flushing) await flushing.catch(() => {});
    const name = ownName;
    ownName = undefined;
    rebuild();
    if (name) await zk.remove(`${listPath}/${name}`).catch((err) => log.warn("registry_remove_failed", { err }));
  }

  try {
    await zk.mkdirp(listPath);
    await syncChildren();
    await register();
  } catch (err) {
    await zk.close();
    throw err;
  }

  return {
    get workerId() {
      return workerId;
    },
    get lockAcquisitions() {
      return lockAcquisitions;
    },
    get nodePath() {
      return ownName && `${listPath}/${ownName}`;
    },
    zk,
    setOnlineCounts(count) {
      if (opts.seedStyleCounts) return void seedStyleWrite(Math.max(0, Math.floor(count) || 0));
      desired = Math.max(0, Math.floor(count) || 0);
      if (desired !== written) {
        dirtySince ||= performance.now();
        schedule();
      }
    },
    nodes: () => liveNodes.map((n) => ({ ...n })),
    isLive: (instanceId) => liveIds.has(instanceId),
    onInstanceGone: (listener) => void goneListeners.push(listener),
    onRegistered: (listener) => void registeredListeners.push(listener),
    flush,
    async drain() {
      if (draining || closed) return;
      draining = true;
      await deregister();
      log.info("registry_drained", { instance: selfId });
    },
    async health() {
      if (closed) return "zookeeper: closed";
      if (zk.state === "expired") return "zookeeper: session expired, re-registering";
      if (!zk.connected) return "zookeeper: disconnected";
      if (draining) return "zookeeper: draining";
      return ownName ? "ok" : "zookeeper: not registered";
    },
    async close() {
      if (closed) return;
      draining = true;
      await deregister();
      closed = true;
      await zk.close();
    },
  };
}
