// Three instances on three test hosts (network namespaces), each reaching ZooKeeper, Redis,
// RabbitMQ and PostgreSQL through forwarders whose faults are set per host, under steady 1:1,
// multi-device and group load from clients that reconnect and resend as README says. One fault at a
// time on host 1; the checker must find nothing acked lost, nothing phantom, no clientMsgId acked
// twice, and every acked message in the store. Prints the per-fault table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { faultTable, type FaultRow } from "../support/checker.ts";
import { killDuringCut, LIBFAKETIME, linkFault, skewedKillDuringCut, startFaultRunner, type FaultKind, type FaultRunner } from "../support/fault-run.ts";
import { SERVICES } from "../support/hosts.ts";
import { netnsUnavailable } from "../support/netns.ts";
import { REDIS_DB } from "../support/services.ts";

const unavailable = netnsUnavailable();
const ZK_SESSION_TIMEOUT_MS = 4000;

/**
 * Each fault, whether the others must lose sight of host 1 during it (ZooKeeper), and `todo` when it
 * finds a server bug still open (it runs with `bun test --todo`). No instance may exit by itself
 * (`crashes`: host 1's instance did at the heal of a ZooKeeper cut until lib/adapters/zookeeper/
 * library.ts ended given-up clients' sockets at once; zk-late-connect.test.ts). `faketime`: needs libfaketime (`apt-get install libfaketime`), skipped without it.
 */
const FAULTS: Array<[FaultKind, { leavesView: boolean; todo?: true; faketime?: true }]> = [
  [linkFault("Redis refused 8 s", ["redis"], { kind: "refuse" }, 8000), { leavesView: false }],
  [linkFault("RabbitMQ silent 8 s", ["rabbitmq"], { kind: "silent" }, 8000), { leavesView: false }],
  // Past the session timeout and the others' 10 s grace: they route its users' messages nowhere.
  [linkFault("ZooKeeper silent 16 s", ["zookeeper"], { kind: "silent" }, 16_000), { leavesView: true }],
  // Far past the grace (issue 17's 60 s): the others route its users' messages nowhere for ~46 s;
  // at the heal it registers again and catches every connection up (connect.catchUpAll).
  [linkFault("ZooKeeper silent 60 s", ["zookeeper"], { kind: "silent" }, 60_000), { leavesView: true }],
  [linkFault("every service 50 ms + 1% loss, 15 s", SERVICES, { kind: "lossy", delayMs: 50, loss: 0.01 }, 15_000), { leavesView: false }],
  [killDuringCut(6000), { leavesView: true }],
  // Out of the others' view after 4 s + their 10 s grace, host 1's users get nothing from the others
  // (routed nowhere, stored); b_0 keeps getting a_1's group messages, delivered on host 1 itself, so
  // its highest msgId moves on. Killed before it registers again, host 1 never runs its catch-up:
  // b_0's replay from "highest seen minus 10 s" started after the gap and lost 13–17 acked messages
  // (3 runs) until the purge of host 1's routes marked its users (SessionRoutes.missedSince).
  [killDuringCut(30_000, ["zookeeper"], 29 / 30), { leavesView: true }],
  // Host 1's wall clock 3 s ahead (libfaketime): inside the clients' 10 s replay margin.
  [skewedKillDuringCut(3000, 6000), { leavesView: true, faketime: true }],
  // Past what the msgId rule survives (clocks within 1 s, replay margin 10 s), as issue 17 asks.
  // Before positions (2026-12-07, 2 runs): 12 and 12 acked messages lost of ~400, all on b_0's
  // device: two routed with a stale cache entry while the skewed instance's catch-up read from 2 s
  // before its route write by its own clock, and the rest by b_0's replay from its highest msgId
  // minus 10 s, an id minted 15 s ahead. Now the clients replay after their positions (feature
  // "seq") and the catch-up reads after positions too.
  [skewedKillDuringCut(15_000, 6000), { leavesView: true, faketime: true }],
];

if (unavailable) {
  test.skip(`partitions across test hosts: skipped, ${unavailable}`, () => {});
} else {
  describe("a 3-host cluster under load, one fault at a time on host 1", () => {
    let runner: FaultRunner;
    const rows: FaultRow[] = [];

    beforeAll(async () => {
      runner = await startFaultRunner({ hosts: 3, redisDb: REDIS_DB.hosts, env: { ZK_SESSION_TIMEOUT_MS: String(ZK_SESSION_TIMEOUT_MS) } });
    }, 60_000);
    afterAll(async () => {
      if (rows.length) console.log(`\n${faultTable(rows)}\n`);
      if (runner?.checker.phantoms.length) console.log("phantom:", runner.checker.phantoms.slice(0, 20));
      await runner?.stop();
    }, 60_000);

    for (const [kind, { leavesView, todo, faketime }] of FAULTS) {
      const noFaketime = faketime && !LIBFAKETIME;
      (todo ? test.todo : noFaketime ? test.skip : test)(`${noFaketime ? "(skipped: no libfaketime, apt-get install libfaketime) " : ""}${kind.name}: nothing acked lost, nothing phantom, in order by position, one msgId per clientMsgId, all in the store`, async () => {
        const row = await runner.run(kind, 1);
        rows.push(row);
        if (row.lost || row.crashes) console.log(`${kind.name}:\n${runner.checker.explain(kind.name)}`);
        const missing = runner.checker.missing(kind.name).slice(0, 10).map((m) => `${m.r.clientMsgId}=${m.r.msgId} on ${m.device}`);
        expect({ lost: row.lost, phantom: row.phantom, orderViolations: row.orderViolations, ackConflicts: row.ackConflicts, notInStore: row.notInStore, crashes: row.crashes, missing }).toEqual({
          lost: 0, phantom: 0, orderViolations: 0, ackConflicts: 0, notInStore: 0, crashes: 0, missing: [],
        });
        expect(row.acked).toBeGreaterThan(0);
        if (leavesView) expect(row.fewestListed).toBe(2); // the fault really took it out of the others' view
      }, 150_000);
    }
  });
}
