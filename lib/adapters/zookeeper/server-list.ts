// The watched view of `/<ns>/server-list`: every instance's node and data, kept current by watches,
// and which instances left.
import type { ServerNode } from "../../core/directory.ts";
import { instanceIdOf } from "../../core/directory.ts";
import type { Logger } from "../../log.ts";
import { ZkCode, zkCode, ZkEventType } from "./library.ts";
import { type ZkClient } from "./client.ts";

/** The sequence number of an `im-<seq>` node. */
export const seqOf = (name: string) => Number(name.slice(name.lastIndexOf("-") + 1));

function parseNode(data: Buffer): ServerNode | null {
  try {
    const v = JSON.parse(data.toString("utf8"));
    if (typeof v?.ip === "string" && Number.isInteger(v.port) && typeof v.onlineCounts === "number") {
      return { ip: v.ip, port: v.port, onlineCounts: v.onlineCounts };
    }
  } catch {}
  return null;
}

export interface ServerListOptions {
  zk: ZkClient;
  /** e.g. `/wechat/server-list`. */
  listPath: string;
  log: Logger;
  /** Names of every node this instance created, across sessions (its old nodes never "leave"). */
  ownNames: ReadonlySet<string>;
  /** True while this instance's own nodes are hidden from the view (draining). */
  hideOwn(): boolean;
  /** This instance's current node was deleted by someone else. */
  onOwnDeleted(name: string): void;
}

export type ServerListView = ReturnType<typeof createServerListView>;

export function createServerListView(opts: ServerListOptions) {
  const { zk, listPath, log } = opts;
  const view = new Map<string, ServerNode | null>(); // child name -> data (null until read)
  const goneListeners: Array<(node: ServerNode) => void> = [];
  let liveNodes: ServerNode[] = [];
  let liveIds = new Set<string>();
  let closed = false;

  /** Rebuilds what nodes()/isLive() answer from; a re-registered instance counts once (newest node). */
  function rebuild(): void {
    const newest = new Map<string, { seq: number; node: ServerNode }>();
    for (const [name, node] of view) {
      if (!node || (opts.hideOwn() && opts.ownNames.has(name))) continue;
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
    if (opts.ownNames.has(name)) opts.onOwnDeleted(name);
    // Our own old nodes, and an instance that re-registered (its newer node is live), did not leave.
    if (!node || opts.ownNames.has(name) || liveIds.has(instanceIdOf(node))) return;
    for (const fn of goneListeners) {
      try {
        fn({ ...node });
      } catch (err) {
        log.error("registry.listener_failed", { err });
      }
    }
  }

  // One watcher function per path: the library registers a function once per path, so re-arming
  // after a reconnect or a failed attempt never stacks duplicate notifications.
  const childWatchers = new Map<string, (event: { getType(): number }) => void>();
  const listWatcher = () => {
    if (!closed) sync().catch(() => retryLater(sync));
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
      if (!node) log.warn("registry.bad_node", { name });
      view.set(name, node);
      rebuild();
    } catch (err) {
      if (zkCode(err) === ZkCode.NO_NODE) dropChild(name);
      else if (view.has(name)) retryLater(() => watchChild(name));
    }
  }

  /** Lists the children (with a watch) and reads the new ones. */
  async function sync(): Promise<void> {
    const children = (await zk.getChildren(listPath, listWatcher)).filter((name) => name.startsWith("im-"));
    const present = new Set(children);
    for (const name of [...view.keys()]) if (!present.has(name)) dropChild(name);
    const added = children.filter((name) => !view.has(name));
    for (const name of added) view.set(name, null);
    await Promise.all(added.map(watchChild));
  }

  return {
    sync,
    /** After a new session: every watch is gone, so re-read the list and every node. */
    async resync(): Promise<void> {
      await sync();
      await Promise.all([...view.keys()].map(watchChild));
    },
    /** Adds this instance's new node (before its own watch reports it). */
    addOwn(name: string, node: ServerNode): void {
      if (!view.has(name)) view.set(name, node);
      rebuild();
      void watchChild(name);
    },
    rebuild,
    nodes: () => liveNodes.map((n) => ({ ...n })),
    isLive: (instanceId: string) => liveIds.has(instanceId),
    onGone: (listener: (node: ServerNode) => void) => void goneListeners.push(listener),
    close(): void {
      closed = true;
    },
  };
}
