// The ZooKeeper instance registry: this instance's `/<ns>/server-list/im-<seq>` node, the watched
// view of the others (server-list.ts), coalesced counts (counts.ts), a unique worker id
// (worker-ids.ts, claimed before it listens: ids exist before the first message), and
// re-registration after a lost session.
import type { ServerNode } from "../../core/directory.ts";
import { instanceIdOf } from "../../core/directory.ts";
import type { Logger } from "../../log.ts";
import { CreateMode, ZkCode, zkCode } from "./library.ts";
import { type ZkClient } from "./client.ts";
import { createCountWriter } from "./counts.ts";
import { createReadWriteLock } from "./rw-lock.ts";
import { createServerListView } from "./server-list.ts";
import { claimWorkerId, firstWorkerIdOf } from "./worker-ids.ts";

export interface ZkRegistryOptions {
  /** The client, the caller's: it closes it after `close()`. */
  zk: ZkClient;
  /** Root of every znode, e.g. `wechat`. */
  namespace: string;
  self: { ip: string; port: number };
  log: Logger;
  /** Counts are written at most this often. Default 150. */
  flushIntervalMs?: number;
  /** Benchmark-only: the seed's one lock acquisition per connect and per disconnect. */
  seedStyleCounts?: boolean;
  /** Bound on waiting for the rw-lock per write. Default 5 000. */
  lockTimeoutMs?: number;
  /** Measurements for metrics: time waiting for the write lock, and from a count change to its write. */
  observe?: { lockWaitMs(ms: number): void; flushLagMs(ms: number): void };
}

export type ZkRegistry = Awaited<ReturnType<typeof createZkRegistry>>;

/**
 * Loads the view of the cluster and claims a worker id; `register()` then advertises this instance
 * (once it can serve). After a session expiry it registers again with its current count and, when
 * it is free, its old worker id.
 */
export async function createZkRegistry(opts: ZkRegistryOptions) {
  const { zk, self, log } = opts;
  const root = `/${opts.namespace.replace(/^\/+|\/+$/g, "")}`;
  const listPath = `${root}/server-list`;
  const workerPath = `${root}/worker-ids`;
  const selfId = instanceIdOf(self);
  const ownNames = new Set<string>(); // every node this instance created, across sessions
  const registeredListeners: Array<(again: { lostSince?: number }) => void> = [];
  const lostListeners: Array<() => void> = [];
  let ownName: string | undefined;
  let wanted = false; // register() was called and no drain since
  let draining = false;
  let closed = false;
  /** Since when the registry was out of sight (a disconnect, then possibly an expiry); reset on registering. */
  let lostSince: number | undefined;
  let registeredBefore = false;
  let workerId = -1;
  let workerClaimed = false;

  const json = (count: number) => JSON.stringify({ ip: self.ip, port: self.port, onlineCounts: count });
  const view = createServerListView({
    zk, listPath, log, ownNames,
    hideOwn: () => draining,
    onOwnDeleted(name) {
      if (name !== ownName) return;
      // Deleted by someone else while our session lives: advertise again.
      ownName = undefined;
      if (wanted && !closed) void recover();
    },
  });
  const counts = createCountWriter({
    zk, listPath, json, log,
    lock: createReadWriteLock(zk, { path: `${root}/rw-lock`, data: self.ip, log }),
    ownName: () => (draining ? undefined : ownName),
    flushIntervalMs: opts.flushIntervalMs ?? 150,
    lockTimeoutMs: opts.lockTimeoutMs ?? 5000,
    seedStyle: opts.seedStyleCounts,
    observe: opts.observe,
  });

  /** Claims a worker id: after a session expiry the old one if free, else from a spread start. */
  async function claim(): Promise<void> {
    if (workerClaimed) return;
    const start = workerId >= 0 ? workerId : firstWorkerIdOf(selfId);
    const id = await claimWorkerId(zk, workerPath, selfId, start);
    if (workerId >= 0 && id !== workerId) log.warn("registry.worker_id_changed", { from: workerId, to: id });
    workerId = id;
    workerClaimed = true;
  }

  /** Creates our `im-` node; after a lost answer, adopts the node this session created instead of leaking it. */
  async function createOwnNode(): Promise<string> {
    await zk.mkdirp(listPath);
    for (;;) {
      try {
        const path = await zk.create(`${listPath}/im-`, json(counts.created()), CreateMode.EPHEMERAL_SEQUENTIAL);
        return path.slice(listPath.length + 1);
      } catch (err) {
        if (zkCode(err) !== ZkCode.CONNECTION_LOSS || closed) throw err;
        for (const name of await zk.getChildren(listPath)) {
          const stat = await zk.stat(`${listPath}/${name}`);
          if (name.startsWith("im-") && stat?.ephemeralOwner.equals(zk.sessionId)) return name;
        }
      }
    }
  }

  /** Advertises this instance; safe to retry after a failure half-way. */
  async function advertise(): Promise<void> {
    await claim();
    if (ownName) return;
    const name = await createOwnNode();
    ownNames.add(name);
    ownName = name;
    view.addOwn(name, { ip: self.ip, port: self.port, onlineCounts: counts.created() });
    log.info("registry.registered", { path: `${listPath}/${name}`, workerId, ...(lostSince ? { lostForMs: Date.now() - lostSince } : {}) });
    const again = { lostSince: registeredBefore ? lostSince : undefined };
    registeredBefore = true;
    lostSince = undefined;
    for (const fn of registeredListeners) fn(again);
    counts.resume();
  }

  let recovering = false;
  async function recover(): Promise<void> {
    if (recovering) return;
    recovering = true;
    for (let attempt = 0; !closed; attempt++) {
      try {
        if (wanted && !draining) await advertise();
        else await claim();
        await view.resync();
        break;
      } catch (err) {
        log.warn("registry.recover_failed", { err, attempt });
        await Bun.sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
    recovering = false;
  }

  /** Out of sight from now, unless already: the listeners keep what their catch-up will start from. */
  function lose(): void {
    if (lostSince !== undefined) return;
    lostSince = Date.now();
    for (const fn of lostListeners) fn();
  }

  const offs = [
    zk.on("disconnected", lose),
    zk.on("connected", () => void (lostSince = undefined)), // back within the session: our node survived
    zk.on("expired", () => {
      lose();
      ownName = undefined;
      workerClaimed = false;
      counts.forget();
      log.warn("registry.session_expired", { instance: selfId, workerId });
    }),
    zk.on("session", () => void recover()),
  ];

  async function deregister(): Promise<void> {
    await counts.stop();
    const name = ownName;
    ownName = undefined;
    view.rebuild();
    if (name) await zk.remove(`${listPath}/${name}`).catch((err) => log.warn("registry.remove_failed", { err }));
  }

  await zk.mkdirp(listPath);
  await view.sync();
  await claim();

  return {
    /** Snowflake worker id (0..1023), unique among live instances; may change after a lost session. */
    get workerId() {
      return workerId;
    },
    /** How many times the rw-lock was taken to write a count. */
    get lockAcquisitions() {
      return counts.lockAcquisitions;
    },
    /** This instance's znode, undefined while not registered. */
    get nodePath() {
      return ownName && `${listPath}/${ownName}`;
    },
    zk,
    /** Advertises this instance in `/server-list` (call once it can serve). */
    async register(): Promise<void> {
      wanted = true;
      await advertise();
    },
    /** Sets this instance's absolute count of CONNECT_INIT'd connections; written coalesced, within 1 s. */
    setOnlineCounts: (count: number) => counts.set(count),
    /** Writes the latest count now. */
    flush: () => counts.flush(),
    /** Live instances from the watched view, this one included unless draining. */
    nodes: (): ServerNode[] => view.nodes(),
    /** True while the instance is in the view (used to ignore routes of dead instances). */
    isLive: (instanceId: string) => view.isLive(instanceId),
    /** Instances that left the cluster (their znode was deleted), with the node's last data. */
    onInstanceGone: (listener: (node: ServerNode & { instanceId: string }) => void) =>
      view.onGone((node) => listener({ ...node, instanceId: instanceIdOf(node) })),
    /** Called after each registration, the first and those after a session expiry. */
    onRegistered: (listener: (again: { lostSince?: number }) => void) => void registeredListeners.push(listener),
    /** Called when this instance loses sight of ZooKeeper (a disconnect, or an expiry without one). */
    onLost: (listener: () => void) => void lostListeners.push(listener),
    /** Stops advertising this instance everywhere, at once (graceful stop begins). */
    async drain(): Promise<void> {
      if (draining || closed) return;
      draining = true;
      wanted = false;
      await deregister();
      log.info("registry.drained", { instance: selfId });
    },
    /** "ok" or a short reason a person can act on. */
    async health(): Promise<string> {
      if (closed) return "zookeeper: closed";
      if (zk.state === "expired") return "zookeeper: session expired, re-registering";
      if (!zk.connected) return "zookeeper: disconnected";
      if (draining) return "zookeeper: draining";
      return ownName ? "ok" : "zookeeper: not registered";
    },
    /** Deregisters; the client is the caller's to close (its ephemeral worker id goes with it). */
    async close(): Promise<void> {
      if (closed) return;
      draining = true;
      await deregister();
      closed = true;
      view.close();
      for (const off of offs) off();
    },
  };
}
