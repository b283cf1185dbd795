// Benchmark 1+2: cross-instance 1:1 throughput and latency on 2 instances (ROUTING=direct and fanout),
// against a Socket.IO + Redis adapter peer of 2 nodes under the same load in the same run.
//
//   bun run bench/throughput.ts [--quick] [--pairs=50,200] [--window=10] [--peer=node|bun|both|none]
//                               [--routings=direct,fanout] [--stores=file,postgres,memory] [--rounds=2] [--rate=msg/s]
// --stores=postgres adds runs on PostgreSQL (TEST_DATABASE_URL, the tests' database: the cluster's production
// store); --stores=memory adds runs with DATABASE_URL=sqlite::memory: (each instance its own in-memory store:
// not a valid cluster setup, a diagnostic that takes the SQLite file writes out of the message path).
// CPU per delivered message is read from /proc for every process involved: both servers, RabbitMQ, Redis,
// PostgreSQL (all its backends) and the load generator (this process).
import { connectIm, connectSocketIo, type Connect } from "./lib/clients.ts";
import { arg, cpuMs, fmt, numList, progress, QUICK, saveResult, table } from "./lib/common.ts";
import { PG } from "../test/support/services.ts";
import { serviceCpuMs, startBenchCluster } from "./lib/im-cluster.ts";
import { runPairLoad, type PairLoadResult } from "./lib/pair-load.ts";
import { startPeer, type PeerRuntime } from "./peer/peer.ts";

type Store = "file" | "postgres" | "memory";
const STORE_ENV: Record<Store, Record<string, string>> = { file: {}, postgres: { DATABASE_URL: PG }, memory: { DATABASE_URL: "sqlite::memory:" } };

export interface ThroughputOptions {
  pairs: number[];
  window: number;
  warmupMs: number;
  measureMs: number;
  peerRuntimes: PeerRuntime[];
  routings: Array<"direct" | "fanout">;
  stores: Store[];
  /** Each system is measured this many times; the best round counts. */
  rounds: number;
  /** The paced run's rate in msg/s (0: half the measured maximum); a fixed rate compares latency across runs. */
  pacedRate: number;
}

export interface ThroughputRow {
  system: string;
  pairs: number;
  max: PairLoadResult;
  half: PairLoadResult;
  /** CPU of the 2 server processes (instances or peer nodes) per delivered message at max rate, µs. */
  serverCpuUsPerMsg: number;
  rabbitCpuUsPerMsg: number;
  redisCpuUsPerMsg: number;
  postgresCpuUsPerMsg: number;
  /** This process: the load generator's clients (both sides of every pair). */
  loadCpuUsPerMsg: number;
}

/** CPU µs per delivered message of every process involved, summed. */
export const totalCpuUsPerMsg = (r: ThroughputRow) => r.serverCpuUsPerMsg + r.rabbitCpuUsPerMsg + r.redisCpuUsPerMsg + r.postgresCpuUsPerMsg + r.loadCpuUsPerMsg;

export function throughputOptions(): ThroughputOptions {
  const peer = arg("peer", "node");
  return {
    pairs: numList("pairs", [50, 200]),
    window: Number(arg("window", "10")),
    warmupMs: Number(arg("warmup-ms", QUICK ? "1000" : "3000")),
    measureMs: Number(arg("measure-ms", QUICK ? "3000" : "10000")),
    peerRuntimes: peer === "both" ? ["node", "bun"] : peer === "none" ? [] : [peer as PeerRuntime],
    routings: arg("routings", "direct,fanout").split(",") as ThroughputOptions["routings"],
    stores: arg("stores", "file").split(",") as Store[],
    rounds: Number(arg("rounds", QUICK ? "1" : "2")),
    pacedRate: Number(arg("rate", "0")),
  };
}

/**
 * Closed loop (max rate), then paced at half of it (latency under normal load), for each pair count.
 * `pids` are the server processes: their CPU (and RabbitMQ's and Redis's) over the max-rate window,
 * per delivered message, is a figure less sensitive to what else runs on the machine than msg/s.
 */
async function measure(system: string, connect: Connect, senderUrl: string, receiverUrl: string, pids: number[], o: ThroughputOptions): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const pairs of o.pairs) {
    const tag = `${system.replace(/\W+/g, "")}${pairs}-${Math.random().toString(36).slice(2, 6)}`;
    const common = { connect, pairs, warmupMs: o.warmupMs, measureMs: o.measureMs, senderUrl: () => senderUrl, receiverUrl: () => receiverUrl };
    const serverCpu = () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    const zero = { rabbitmq: 0, redis: 0, postgres: 0 };
    let cpu0 = 0, load0 = 0, svc0 = zero, serverMs = 0, loadMs = 0, svcMs = zero;
    const max = await runPairLoad({
      ...common,
      window: o.window,
      tag: `${tag}m`,
      label: `${system} P=${pairs} max`,
      onWindow(phase) {
        if (phase === "start") {
          cpu0 = serverCpu();
          load0 = cpuMs(process.pid);
          svc0 = serviceCpuMs();
        } else {
          serverMs = serverCpu() - cpu0;
          loadMs = cpuMs(process.pid) - load0;
          const svc = serviceCpuMs();
          svcMs = { rabbitmq: svc.rabbitmq - svc0.rabbitmq, redis: svc.redis - svc0.redis, postgres: svc.postgres - svc0.postgres };
        }
      },
    });
    const msgs = max.msgsPerS * (o.measureMs / 1000);
    const half = await runPairLoad({
      ...common,
      window: Math.max(100, o.window),
      rate: o.pacedRate || max.msgsPerS / 2,
      tag: `${tag}h`,
      label: `${system} P=${pairs} half`,
    });
    rows.push({
      system, pairs, max, half,
      serverCpuUsPerMsg: (serverMs * 1000) / msgs,
      rabbitCpuUsPerMsg: (svcMs.rabbitmq * 1000) / msgs,
      redisCpuUsPerMsg: (svcMs.redis * 1000) / msgs,
      postgresCpuUsPerMsg: (svcMs.postgres * 1000) / msgs,
      loadCpuUsPerMsg: (loadMs * 1000) / msgs,
    });
  }
  return rows;
}

interface System {
  name: string;
  run(o: ThroughputOptions): Promise<ThroughputRow[]>;
}

/** The systems under test, each started, measured at every pair count and stopped again. */
function systems(o: ThroughputOptions): System[] {
  const out: System[] = [];
  for (const store of o.stores) {
    for (const routing of o.routings) {
      const name = `im ${routing}${store === "memory" ? " [sqlite::memory:]" : store === "postgres" ? " (PostgreSQL)" : ""}`;
      out.push({
        name,
        async run(o) {
          const c = await startBenchCluster(2, { ROUTING: routing, ...STORE_ENV[store] });
          try {
            return await measure(name, connectIm, c.wsUrl(0), c.wsUrl(1), c.nodes.map((n) => n.proc.pid), o);
          } finally {
            await c.stop();
          }
        },
      });
    }
  }
  for (const runtime of o.peerRuntimes) {
    const name = `socket.io (${runtime})`;
    out.push({
      name,
      async run(o) {
        const peer = await startPeer(2, runtime);
        try {
          return await measure(name, connectSocketIo, peer.urls[0], peer.urls[1], peer.pids, o);
        } finally {
          await peer.stop();
        }
      },
    });
  }
  return out;
}

/**
 * Runs every system `rounds` times, in alternating order (so that a slow spell of the shared machine does
 * not fall on one system only), and keeps per system and pair count the round with the highest max rate.
 */
export async function runThroughput(o: ThroughputOptions = throughputOptions()): Promise<ThroughputRow[]> {
  const all: ThroughputRow[][] = [];
  const list = systems(o);
  for (let round = 0; round < o.rounds; round++) {
    progress(`throughput round ${round + 1}/${o.rounds}`);
    const order = round % 2 === 0 ? list : [...list].reverse();
    const rows: ThroughputRow[] = [];
    for (const sys of order) rows.push(...(await sys.run(o)));
    all.push(rows);
  }
  const best: ThroughputRow[] = [];
  for (const sys of list) {
    for (const pairs of o.pairs) {
      const candidates = all.flat().filter((r) => r.system === sys.name && r.pairs === pairs);
      best.push(candidates.reduce((a, b) => (b.max.msgsPerS > a.max.msgsPerS ? b : a)));
    }
  }
  saveResult("throughput", { options: o, best, rounds: all });
  return best;
}

/** Our/peer ratio of max throughput, per system (routing and store) and pair count, against the first peer runtime. */
export function throughputRatios(rows: ThroughputRow[]): Array<{ routing: string; pairs: number; ours: number; peer: number; ratio: number; cpuRatio: number }> {
  const peers = rows.filter((r) => r.system.startsWith("socket.io"));
  const out = [];
  for (const r of rows.filter((r) => r.system.startsWith("im ") && !r.system.includes("["))) {
    const p = peers.find((x) => x.pairs === r.pairs);
    // CPU per message of every process (servers, services, load generator): peer / ours, > 1 when ours is cheaper.
    if (p) out.push({ routing: r.system.slice(3), pairs: r.pairs, ours: r.max.msgsPerS, peer: p.max.msgsPerS, ratio: r.max.msgsPerS / p.max.msgsPerS, cpuRatio: totalCpuUsPerMsg(p) / totalCpuUsPerMsg(r) });
  }
  return out;
}

export function throughputTable(rows: ThroughputRow[]): string {
  return table(
    ["system", "pairs", "W", "max msg/s", "p50 ms @max", "p99 ms @max", "server CPU µs/msg @max", "RabbitMQ + Redis + PostgreSQL CPU µs/msg", "load generator CPU µs/msg", "all processes CPU µs/msg", "half rate msg/s (achieved)", "p50 ms @half", "p99 ms @half", "unfinished", "errors"],
    rows.map((r) => [
      r.system,
      r.pairs,
      r.max.window,
      fmt(r.max.msgsPerS),
      fmt(r.max.p50Ms, 2),
      fmt(r.max.p99Ms, 2),
      fmt(r.serverCpuUsPerMsg),
      `${fmt(r.rabbitCpuUsPerMsg)} + ${fmt(r.redisCpuUsPerMsg)} + ${fmt(r.postgresCpuUsPerMsg)}`,
      fmt(r.loadCpuUsPerMsg),
      fmt(totalCpuUsPerMsg(r)),
      `${fmt(r.half.targetRate ?? NaN)} (${fmt(r.half.msgsPerS)})`,
      fmt(r.half.p50Ms, 2),
      fmt(r.half.p99Ms, 2),
      r.max.unfinished + r.half.unfinished,
      JSON.stringify({ ...r.max.errors, ...r.half.errors }).replace(/"/g, "") || "{}",
    ]),
  );
}

if (import.meta.main) {
  const rows = await runThroughput();
  console.log(throughputTable(rows));
  console.log();
  console.log(
    table(
      ["routing", "pairs", "ours msg/s", "peer msg/s", "ours/peer", "CPU per msg of all processes, peer/ours"],
      throughputRatios(rows).map((r) => [r.routing, r.pairs, fmt(r.ours), fmt(r.peer), `${r.ratio.toFixed(2)}×`, `${r.cpuRatio.toFixed(2)}×`]),
    ),
  );
  progress("throughput done");
  process.exit(0);
}
