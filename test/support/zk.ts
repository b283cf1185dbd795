// ZooKeeper helpers for tests: remove a subtree, expire a client's session.
import zookeeper from "node-zookeeper-client";
import type { ZkClient } from "../../lib/adapters/zookeeper/client.ts";

/** Removes `path` and everything below it (missing nodes are fine). */
export async function removeTree(zk: ZkClient, path: string): Promise<void> {
  for (const child of await zk.getChildren(path).catch(() => [] as string[])) await removeTree(zk, `${path}/${child}`);
  await zk.remove(path).catch(() => {});
}

/**
 * Expires `zk`'s session the known way: a twin client attaches to the session and closes it. If `zk`
 * reconnects first, the twin is the one cut off and the session lives on, so check and try again.
 */
export async function expireSession(zk: ZkClient, connect: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const expired = new Promise<boolean>((resolve) => {
      const off = zk.on("expired", () => (off(), resolve(true)));
      setTimeout(() => (off(), resolve(false)), 2000);
    });
    const options = { sessionTimeout: 4000, sessionId: zk.raw.getSessionId(), sessionPassword: zk.raw.getSessionPassword() };
    const twin = zookeeper.createClient(connect, options as Partial<zookeeper.Option>);
    twin.once("connected", () => twin.close());
    twin.connect();
    if (await expired) return;
  }
  throw new Error("could not expire the session");
}
