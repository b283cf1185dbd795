// A full instance refuses cleanly: past its open-files limit (lowered while it runs, as an operator's
// container would have it) it answers upgrades 503, keeps /health and getNettyOnlineInfo answering,
// marks itself full in ZooKeeper so new clients are sent elsewhere, and its held clients keep chatting.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { reservedDescriptors } from "../../lib/transport/capacity.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { http } from "../support/target.ts";
import { TestClient } from "../support/ws-client.ts";
import { REDIS_DB } from "../support/services.ts";

const LIMIT = 600;
const CAP = LIMIT - reservedDescriptors(LIMIT);

/** The status and body of a WebSocket upgrade request (a refused one is an HTTP answer). */
async function upgrade(port: number): Promise<{ status: number; body: string; connection: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/ws`, {
    headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: res.status === 101 ? "" : await res.text(), connection: res.headers.get("connection") };
}

/** CPU seconds the process used so far (utime + stime from /proc/<pid>/stat, at 100 ticks a second). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await Bun.file(`/proc/${pid}/stat`).text()).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe("an instance at its open-files limit", () => {
  let c: Cluster;
  const held: TestClient[] = [];
  beforeAll(async () => {
    c = await startCluster({ size: 2, redisDb: REDIS_DB.capacity, env: { MAX_CONNS_PER_USER: "1000", FRAME_RATE_PER_CONN: "0" } });
  }, 60_000);
  afterAll(async () => {
    for (const cl of held) cl.close();
    await c?.stop();
  }, 60_000);

  test(`with the limit lowered to ${LIMIT} it holds ${CAP} connections, then refuses with 503 and sends new clients elsewhere`, async () => {
    const [full, other] = c.nodes;
    const prlimit = Bun.spawnSync(["prlimit", "--pid", String(full.proc.pid), `--nofile=${LIMIT}:${LIMIT * 4}`]);
    expect(prlimit.exitCode).toBe(0);
    await Bun.sleep(1100); // the limit is re-read at most once a second

    // Fill it: every connection up to the cap is accepted, then every upgrade gets 503 at once.
    for (let i = 0; held.length < CAP; i++) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, CAP - held.length) }, (_, j) => TestClient.login(c.wsUrl(0), `u${i * 50 + j}`)));
      held.push(...batch);
    }
    const fds = (await Array.fromAsync(new Bun.Glob("*").scan({ cwd: `/proc/${full.proc.pid}/fd`, onlyFiles: false }))).length;
    console.log(`capacity: ${held.length} connections held, ${fds} descriptors open of ${LIMIT}`);
    expect(fds).toBeLessThan(LIMIT - 32);

    const refused = await Promise.all(Array.from({ length: 20 }, () => upgrade(full.port)));
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.body).toContain("this instance is full");
      expect(r.connection).toBe("close");
    }

    // The instance still answers its probes, and the cluster sends new clients to the other one.
    expect((await http(`${c.httpUrl(0)}/health`, "GET")).status).toBe(200);
    const routed = await eventually(async () => {
      const answers = await Promise.all([0, 1, 0, 1].map((i) => http(`${c.httpUrl(i)}/chat/getNettyOnlineInfo`)));
      return answers.every((a) => a.body.data?.port === other.port) && answers;
    }, 5000);
    expect(routed).toBeTruthy();
    expect(await c.zk.getChildren(`/${c.namespace}/full`)).toEqual([`127.0.0.1_${full.port}`]);

    // Held clients keep chatting, and a full instance does not spin.
    const before = await cpuSeconds(full.proc.pid);
    const [x, y] = [held[0], held[1]];
    const ack = await x.say("u0", "u1", "still here");
    expect((await y.nextMessage()).chatMsg.msgId).toBe(ack.msgId);
    await Bun.sleep(2000);
    expect(await cpuSeconds(full.proc.pid) - before).toBeLessThan(0.5);
    const refusals = full.log.filter((l) => l.includes('"event":"conn.refused_full"'));
    expect(refusals).toHaveLength(1); // at most one warn line per interval, not one per refusal

    // Below 95% of the cap it has room again: the mark goes, upgrades are accepted.
    for (const cl of held.splice(0, Math.ceil(CAP * 0.06))) cl.close();
    expect(await eventually(async () => (await c.zk.getChildren(`/${c.namespace}/full`)).length === 0, 5000)).toBe(true);
    expect((await upgrade(full.port)).status).toBe(101);
  }, 90_000);
});
