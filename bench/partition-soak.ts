// A seeded randomized partition soak, by hand (not in CI): the 3-host cluster of
// test/partition/hosts.test.ts under the same load, fault kinds drawn in random order from `--seed`
// (kind, host, duration, delay and loss), until `--minutes` have passed; prints the checker's
// per-fault table and the seed. The seed replays the sequence of faults and their parameters; the
// timing of packets, jitter and loss draws inside the run are not seeded.
//
//   flock /tmp/heavy.lock bun run bench/partition-soak.ts [--seed=N] [--minutes=3] [--hosts=3] [--only=<regex>] [--clock] [--dry]
import { faultTable, type FaultRow } from "../test/support/checker.ts";
import { flapping, killAndRestart, killDuringCut, LIBFAKETIME, linkFault, skewedKillDuringCut, startFaultRunner, type FaultKind } from "../test/support/fault-run.ts";
import { SERVICES, type ServiceName } from "../test/support/hosts.ts";
import { netnsUnavailable } from "../test/support/netns.ts";
import { arg, machineInfo, progress, REDIS_DB } from "./lib/common.ts";

/** mulberry32: a small seeded PRNG in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(arg("seed", String(Math.floor(Math.random() * 2 ** 31))));
const minutes = Number(arg("minutes", "3"));
const hosts = Number(arg("hosts", "3"));
/** `--only=<regex>`: draw again (from the same seed) until a fault's name matches, e.g. `--only=zookeeper`. */
const only = new RegExp(arg("only", ""), "i");
const clock = process.argv.includes("--clock");
const random = prng(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo));

/** One fault drawn from the seed. */
function drawFault(): FaultKind {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const kinds: Array<() => FaultKind> = [
    () => {
      const service = pick(SERVICES);
      const kind = pick(["refuse", "silent"] as const);
      const ms = between(4000, 12_000);
      return linkFault(`${service} ${kind} ${s(ms)}`, [service], { kind }, ms);
    },
    () => {
      const kind = pick(["refuse", "silent"] as const);
      const ms = between(4000, 12_000);
      return linkFault(`every service ${kind} ${s(ms)}`, SERVICES, { kind }, ms);
    },
    () => {
      const delayMs = between(20, 100);
      const loss = between(5, 30) / 1000;
      const ms = between(8000, 20_000);
      return linkFault(`every service ${delayMs} ms + ${(loss * 100).toFixed(1)}% loss ${s(ms)}`, SERVICES, { kind: "lossy", delayMs, loss }, ms);
    },
    () => {
      const ms = between(16_000, 60_000); // past the session timeout and the others' 10 s grace
      return linkFault(`zookeeper silent ${s(ms)}`, ["zookeeper"], { kind: "silent" }, ms);
    },
    () => killDuringCut(between(4, 10) * 1000),
    () => killAndRestart(between(2000, 6000)),
    () => {
      const services: readonly ServiceName[] = pick([SERVICES, ["redis"], ["rabbitmq"], ["zookeeper"]] as const);
      return flapping(services, { kind: pick(["refuse", "silent"] as const) }, 5, 2000, 2000);
    },
  ];
  // `--clock`: one instance's wall clock ahead (within the 10 s replay margin, or past it). Opt-in, so
  // that the seeds of runs made before it existed draw the same faults.
  if (clock) kinds.push(() => skewedKillDuringCut(pick([3000, 15_000]), between(4, 10) * 1000));
  for (let tries = 0; tries < 1000; tries++) {
    const kind = pick(kinds)();
    if (only.test(kind.name)) return kind;
  }
  throw new Error(`no fault kind matches --only=${only.source}`);
}

/** Fault `i` and its host, drawn in the order the run draws them. */
const draw = (i: number) => {
  const kind = drawFault();
  const host = Math.floor(random() * hosts);
  return { kind, host, label: `${i}. host ${host}: ${kind.name}` };
};

// `--dry`: print the first faults this seed draws, start nothing.
if (process.argv.includes("--dry")) {
  for (let i = 1; i <= 12; i++) console.log(draw(i).label);
  process.exit(0);
}

const why = netnsUnavailable() ?? (clock && !LIBFAKETIME ? "--clock needs libfaketime (apt-get install libfaketime)" : undefined);
if (why) {
  console.error(`partition soak: ${why}`);
  process.exit(2);
}
const replay = `--seed=${seed} --minutes=${minutes} --hosts=${hosts}${only.source !== "(?:)" ? ` --only='${only.source}'` : ""}${clock ? " --clock" : ""}`;
console.log(`partition soak: seed ${seed}, ${minutes} min, ${hosts} hosts (replay: ${replay})`);
const runner = await startFaultRunner({ hosts, redisDb: REDIS_DB, env: { ZK_SESSION_TIMEOUT_MS: "4000" } });
// Ctrl-C: remove the hosts, links and forwarders before leaving.
process.once("SIGINT", () => void runner.stop().finally(() => process.exit(130)));
const rows: FaultRow[] = [];
const deadline = Date.now() + minutes * 60_000;
let failed = false;
try {
  for (let i = 1; Date.now() < deadline; i++) {
    const { kind, host, label } = draw(i);
    progress(label);
    const row = await runner.run(kind, host, label);
    rows.push(row);
    progress(JSON.stringify(row));
    if (row.lost || row.phantom || row.ackConflicts || row.notInStore || row.crashes) {
      failed = true;
      console.log(`${label}:\n${runner.checker.explain(label)}`);
      if (runner.checker.phantoms.length) console.log("phantom:", runner.checker.phantoms.slice(0, 20));
    }
  }
} finally {
  await runner.stop();
}
const m = machineInfo();
console.log(`\n${m.date}, ${m.nproc} cores (${m.cpu}), ${m.ramGiB} GiB, kernel ${m.kernel}, Bun ${m.bun}; seed ${seed}\n`);
console.log(faultTable(rows));
console.log(`\n${replay}: ${failed ? "FAILED (lost, phantom, ackConflicts, notInStore or crashes above 0)" : "0 lost, 0 phantom, 0 ackConflicts, all acked in the store, no instance crashed"}`);
process.exit(failed ? 1 : 0);
