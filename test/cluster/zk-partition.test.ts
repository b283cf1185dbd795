// An instance cut off from ZooKeeper past its session timeout and the others' 10 s grace (a
// forwarder that holds every byte): the others stop seeing it and, once the grace is over, route
// its users' messages to no instance (they are acked and stored). When the network is back it
// re-registers and catches every connection up from when it lost the registry: nothing acked is
// missing on the cut instance's devices.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ROUTES_REBUILD_GRACE_MS } from "../../lib/core/membership.ts";
import { startBlackholeProxy, type BlackholeProxy } from "../support/blackhole-proxy.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { REDIS_DB, ZK } from "../support/services.ts";
import { eventually } from "../support/wait.ts";
import { TestClient } from "../support/ws-client.ts";

describe("an instance cut off from ZooKeeper past its session", () => {
  let c: Cluster;
  let proxy: BlackholeProxy;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    const [host, port] = ZK.split(",")[0].split(":");
    proxy = await startBlackholeProxy({ host, port: Number(port) });
    c = await startCluster({ size: 1, redisDb: REDIS_DB.zkPartition, env: { ZK_SESSION_TIMEOUT_MS: "4000" } });
    await c.start({ ZK_CONNECT: `127.0.0.1:${proxy.port}` }); // instance 1: through the proxy
    await eventually(async () => (await c.serverList()).length === 2, 10_000);
  }, 60_000);
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await c?.stop();
    await proxy?.close();
  }, 60_000);

  test("every message acked while it was out of the view reaches its device after the heal", async () => {
    const alice = await TestClient.login(c.wsUrl(0), "zp-alice");
    const bob = await TestClient.login(c.wsUrl(1), "zp-bob"); // on the instance that will be cut
    clients.push(alice, bob);
    await alice.say("zp-alice", "zp-bob", "before");
    await bob.nextMessage((f) => f.chatMsg.msg === "before");

    proxy.cut();
    const acked: string[] = [];
    const cutForMs = 4000 + ROUTES_REBUILD_GRACE_MS + 6000; // session gone, grace over, then some
    const cutAt = Date.now();
    let sawGone = false;
    let unhealthyAfterMs: number | undefined;
    for (let i = 0; Date.now() - cutAt < cutForMs; i++) {
      acked.push((await alice.say("zp-alice", "zp-bob", `during ${i}`)).msgId);
      sawGone ||= (await c.serverList()).length === 1;
      const h = (await (await fetch(`${c.httpUrl(1)}/health`, { signal: AbortSignal.timeout(3000) })).json()) as any;
      if (unhealthyAfterMs === undefined && h.checks.zookeeper !== "ok") unhealthyAfterMs = Date.now() - cutAt;
      await Bun.sleep(250);
    }
    expect(sawGone).toBe(true); // the others really lost sight of it
    // Its own probe (every third of the session timeout, bounded by two thirds) saw the silence.
    expect(unhealthyAfterMs).toBeLessThan(4000 + 1000);
    proxy.heal();

    const got = new Set<string>();
    const all = await eventually(() => {
      for (const f of bob.frames.splice(0)) if (f.chatMsg?.msgType === 1) got.add(f.chatMsg.msgId);
      return acked.every((id) => got.has(id));
    }, 20_000, 100);
    expect({ missing: acked.filter((id) => !got.has(id)).length, all }).toEqual({ missing: 0, all: true });
    expect(await eventually(async () => (await c.serverList()).length === 2, 10_000)).toBe(true);
  }, 90_000);
});
