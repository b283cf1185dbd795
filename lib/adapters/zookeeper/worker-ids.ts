// Snowflake worker ids: each instance claims an EPHEMERAL `/<ns>/worker-ids/<n>`, probing upwards
// from a starting point when taken. A create is atomic, so two live sessions never hold one id.
import { CreateMode, ZkCode, zkCode } from "./library.ts";
import { type ZkClient } from "./client.ts";

export const WORKER_IDS = 1024;

/** Where an instance starts probing: a hash (FNV-1a) of its `<ip>_<port>`, so that instances spread. */
export function firstWorkerIdOf(instanceId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < instanceId.length; i++) h = Math.imul(h ^ instanceId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % WORKER_IDS;
}

/** Claims the first free id from `start` (0..1023), or the one this session already holds there. */
export async function claimWorkerId(zk: ZkClient, workerPath: string, owner: string, start: number): Promise<number> {
  await zk.mkdirp(workerPath);
  for (let i = 0; i < WORKER_IDS; i++) {
    const id = (start + i) % WORKER_IDS;
    try {
      await zk.create(`${workerPath}/${id}`, owner, CreateMode.EPHEMERAL);
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
