// An instance cut off from ZooKeeper past its session timeout and the others' 10 s grace (a
// forwarder that holds every byte): the others stop seeing it and, once the grace is over, route
// its users' messages to no instance (they are acked and stored). When the network is back it
// re-registers and catches every connection up from the positions each had when it lost the
// registry: nothing acked is missing on the cut instance's devices, also with its clock 15 s ahead
// (libfaketime), which a catch-up by its own clock did not survive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ROUTES_REBUILD_GRACE_MS } from "../../lib/core/membership.ts";
import { LIBFAKETIME } from "../support/fault-run.ts";
import { startCutCluster, type CutCluster } from "../support/partition.ts";
import { REDIS_DB, ZK } from "../support/services.ts";
import { eventually } from "../support/wait.ts";

/** The checks, with the cut instance's wall clock `skewS` seconds ahead (0: not skewed). */
function cutPastTheSession(skewS: number) {
  const name = `an instance cut off from ZooKeeper past its session${skewS ? `, its clock ${skewS} s ahead` : ""}`;
  if (skewS && !LIBFAKETIME) return void test.skip(`${name}: skipped, libfaketime is not installed (apt-get install libfaketime)`, () => {});
  const skew: Record<string, string> = skewS ? { LD_PRELOAD: LIBFAKETIME!, FAKETIME: `+${skewS}s`, DONT_FAKE_MONOTONIC: "1" } : {};
  describe(name, () => {
    let cut: CutCluster;

    beforeAll(async () => {
      cut = await startCutCluster({
        service: ZK, defaultPort: 2181, redisDb: REDIS_DB.zkPartition, env: { ZK_SESSION_TIMEOUT_MS: "4000" },
        through: (port) => ({ ZK_CONNECT: `127.0.0.1:${port}`, ...skew }),
      });
      await eventually(async () => (await cut.c.serverList()).length === 2, 10_000);
    }, 60_000);
    afterAll(() => cut?.stop(), 60_000);

    test("every message acked while it was out of the view reaches its device after the heal", async () => {
      const alice = await cut.login(0, "zp-alice");
      const bob = await cut.login(1, "zp-bob"); // on the instance that will be cut
      await alice.say("zp-alice", "zp-bob", "before");
      await bob.nextMessage((f) => f.chatMsg.msg === "before");

      cut.proxy.cut();
      const acked: string[] = [];
      const cutForMs = 4000 + ROUTES_REBUILD_GRACE_MS + 6000; // session gone, grace over, then some
      const cutAt = Date.now();
      let sawGone = false;
      let unhealthyAfterMs: number | undefined;
      for (let i = 0; Date.now() - cutAt < cutForMs; i++) {
        acked.push((await alice.say("zp-alice", "zp-bob", `during ${i}`)).msgId);
        sawGone ||= (await cut.c.serverList()).length === 1;
        const h = (await (await fetch(`${cut.c.httpUrl(1)}/health`, { signal: AbortSignal.timeout(3000) })).json()) as any;
        if (unhealthyAfterMs === undefined && h.checks.zookeeper !== "ok") unhealthyAfterMs = Date.now() - cutAt;
        await Bun.sleep(250);
      }
      expect(sawGone).toBe(true); // the others really lost sight of it
      // Its own probe (every third of the session timeout, bounded by two thirds) saw the silence.
      expect(unhealthyAfterMs).toBeLessThan(4000 + 1000);
      cut.proxy.heal();

      const got = new Set<string>();
      const all = await eventually(() => {
        for (const f of bob.frames.splice(0)) if (f.chatMsg?.msgType === 1) got.add(f.chatMsg.msgId);
        return acked.every((id) => got.has(id));
      }, 20_000, 100);
      expect({ missing: acked.filter((id) => !got.has(id)).length, all }).toEqual({ missing: 0, all: true });
      expect(await eventually(async () => (await cut.c.serverList()).length === 2, 10_000)).toBe(true);
    }, 90_000);
  });
}

cutPastTheSession(0);
cutPastTheSession(15);
