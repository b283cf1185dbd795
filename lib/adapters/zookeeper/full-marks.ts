// Full marks in ZooKeeper: an EPHEMERAL `/<ns>/full/<ip>_<port>` while that instance is at its
// connection cap, and a watched view of them, so getNettyOnlineInfo sends new clients elsewhere.
import type { Logger } from "../../log.ts";
import type { FullMarks } from "../../core/directory.ts";
import { CreateMode, ZkCode, zkCode } from "./library.ts";
import { type ZkClient } from "./client.ts";

export interface ZkFullMarksOptions {
  zk: ZkClient;
  namespace: string;
  /** This instance's `<ip>_<port>`. */
  selfId: string;
  log: Logger;
  /** Pause before retrying a failed read or write. Default 500. */
  retryMs?: number;
}

/** Loads the view of full instances and keeps it watched; `set` makes ZooKeeper follow this instance's state. */
export async function createZkFullMarks(opts: ZkFullMarksOptions): Promise<FullMarks & { close(): Promise<void> }> {
  const { zk, log } = opts;
  const dir = `/${opts.namespace.replace(/^\/+|\/+$/g, "")}/full`;
  const own = `${dir}/${opts.selfId}`;
  const retryMs = opts.retryMs ?? 500;
  let marked = new Set<string>();
  let wanted = false;
  let closed = false;
  let applying: Promise<void> | undefined;

  const later = (fn: () => void) => void setTimeout(() => !closed && fn(), retryMs).unref();
  // One watcher function for the path: the library registers a function once per path.
  const watcher = () => void (!closed && sync());

  async function sync(): Promise<void> {
    try {
      marked = new Set(await zk.getChildren(dir, watcher));
      // Our mark vanished (a session renewed, or an old one of this ip:port expired): put it back.
      if (wanted !== marked.has(opts.selfId)) apply();
    } catch {
      later(() => void sync());
    }
  }

  /** Creates or removes our node until ZooKeeper holds what `wanted` says; one run at a time. */
  function apply(): void {
    if (applying || closed) return;
    const want = wanted;
    applying = (want ? zk.create(own, "", CreateMode.EPHEMERAL).then(() => {}) : zk.remove(own)).then(
      () => {
        applying = undefined;
        if (want !== wanted) apply();
      },
      (err) => {
        applying = undefined;
        if (zkCode(err) === ZkCode.NODE_EXISTS) return void (want !== wanted && apply());
        log.warn("capacity.mark_failed", { full: want, err });
        later(apply);
      },
    );
  }

  zk.on("session", () => void sync());
  await zk.mkdirp(dir);
  await sync();

  return {
    set(full) {
      if (full === wanted) return;
      wanted = full;
      apply();
    },
    has: (instanceId) => marked.has(instanceId),
    async close() {
      closed = true;
      await applying;
      if (wanted) await zk.remove(own).catch(() => {});
    },
  };
}
