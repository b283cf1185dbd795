// Benchmark 3: instance-count scaling of 1:1 traffic. For N = 2, 4, 6 instances and both routings, P pairs
// (sender on instance i mod N, receiver on i+1 mod N) at one fixed total rate; per delivered message:
// frames the instances consumed from the bus (/metrics im_bus_consumed_total), bytes the broker sent to the
// cluster's connections (rabbitmqctl list_connections send_oct), and CPU of the instances (/proc utime+stime)
// and of RabbitMQ. Direct routing should stay flat in N where fanout grows.
//
//   bun run bench/scaling.ts [--quick] [--instances=2,4,6] [--rate=1000] [--scaling-pairs=60]
import { connectIm } from "./lib/clients.ts";
import { arg, fmt, numList, progress, QUICK, saveResult, table } from "./lib/common.ts";
import { brokerOctets, clusterCpuMs, clusterMetrics, serviceCpuMs, startBenchCluster } from "./lib/im-cluster.ts";
import { runPairLoad } from "./lib/pair-load.ts";

export interface ScalingRow {
  routing: string;
  instances: number;
  rate: number;
  msgsPerS: number;
  p99Ms: number;
  delivered: number;
  busPublishedPerMsg: number;
  busConsumedPerMsg: number;
  brokerSentBytesPerMsg: number;
  brokerRecvBytesPerMsg: number;
  instanceCpuUsPerMsg: number;
  /** The same, less what the instances spend idle (timers, ZooKeeper pings) over the window. */
  instanceCpuNetUsPerMsg: number;
  /** CPU of all instances together with no traffic, % of one core. */
  idleCpuPct: number;
  rabbitCpuUsPerMsg: number;
  redisCpuUsPerMsg: number;
  unfinished: number;
}

export async function runScaling(): Promise<ScalingRow[]> {
  const sizes = numList("instances", [2, 4, 6]);
  const rate = Number(arg("rate", QUICK ? "500" : "1000"));
  const pairs = Number(arg("scaling-pairs", "60"));
  const warmupMs = QUICK ? 1500 : 3000;
  const measureMs = QUICK ? 3000 : 8000;
  const rows: ScalingRow[] = [];
  for (const routing of ["direct", "fanout"] as const) {
    for (const n of sizes) {
      const c = await startBenchCluster(n, { ROUTING: routing });
      try {
        await Bun.sleep(1000);
        const idle0 = clusterCpuMs(c), idleT0 = performance.now();
        await Bun.sleep(2000);
        const idleCpuPerMs = (clusterCpuMs(c) - idle0) / (performance.now() - idleT0);
        type Snap = { m: Record<string, number>; cpu: number; svc: ReturnType<typeof serviceCpuMs>; oct: Awaited<ReturnType<typeof brokerOctets>> };
        let before: Promise<Snap> | undefined, after: Promise<Snap> | undefined;
        // Counters are read at the window's edges (the reads take a few ms; rates are per delivered message).
        const snap = async (): Promise<Snap> => {
          const cpu = clusterCpuMs(c), svc = serviceCpuMs();
          const [m, oct] = await Promise.all([clusterMetrics(c), brokerOctets(c.namespace)]);
          return { m, cpu, svc, oct };
        };
        const load = await runPairLoad({
          connect: connectIm,
          pairs,
          window: 100,
          rate,
          warmupMs,
          measureMs,
          senderUrl: (i) => c.wsUrl(i % n),
          receiverUrl: (i) => c.wsUrl((i + 1) % n),
          tag: `sc${routing}${n}-${Math.random().toString(36).slice(2, 6)}`,
          label: `scaling ${routing} N=${n}`,
          onWindow: (phase) => {
            if (phase === "start") before = snap();
            else after = snap();
          },
        });
        const [b, a] = await Promise.all([before!, after!]);
        // Deliveries in the window, as the receivers counted them.
        const msgs = load.msgsPerS * (measureMs / 1000);
        const d = (k: string) => ((a.m[k] ?? NaN) - (b.m[k] ?? NaN)) / msgs;
        const row: ScalingRow = {
          routing,
          instances: n,
          rate,
          msgsPerS: load.msgsPerS,
          p99Ms: load.p99Ms,
          delivered: msgs,
          busPublishedPerMsg: d("im_bus_published_total"),
          busConsumedPerMsg: d("im_bus_consumed_total"),
          brokerSentBytesPerMsg: (a.oct.sendOct - b.oct.sendOct) / msgs,
          brokerRecvBytesPerMsg: (a.oct.recvOct - b.oct.recvOct) / msgs,
          instanceCpuUsPerMsg: ((a.cpu - b.cpu) * 1000) / msgs,
          instanceCpuNetUsPerMsg: ((a.cpu - b.cpu - idleCpuPerMs * measureMs) * 1000) / msgs,
          idleCpuPct: idleCpuPerMs * 100,
          rabbitCpuUsPerMsg: ((a.svc.rabbitmq - b.svc.rabbitmq) * 1000) / msgs,
          redisCpuUsPerMsg: ((a.svc.redis - b.svc.redis) * 1000) / msgs,
          unfinished: load.unfinished,
        };
        progress(
          `scaling ${routing} N=${n}: ${fmt(row.busConsumedPerMsg, 2)} bus frames consumed/msg, ${fmt(row.brokerSentBytesPerMsg)} broker bytes out/msg, ` +
            `${fmt(row.instanceCpuUsPerMsg)} µs instance CPU/msg, ${fmt(row.rabbitCpuUsPerMsg)} µs RabbitMQ CPU/msg`,
        );
        rows.push(row);
      } finally {
        await c.stop();
      }
    }
  }
  saveResult("scaling", rows);
  return rows;
}

export function scalingTable(rows: ScalingRow[]): string {
  return table(
    ["routing", "instances", "rate msg/s (achieved)", "p99 ms", "bus publishes/msg", "bus frames consumed/msg", "broker bytes out/msg", "broker bytes in/msg", "instance CPU µs/msg", "net of idle µs/msg", "idle CPU % of a core", "RabbitMQ CPU µs/msg", "Redis CPU µs/msg"],
    rows.map((r) => [
      r.routing,
      r.instances,
      `${fmt(r.rate)} (${fmt(r.msgsPerS)})`,
      fmt(r.p99Ms, 1),
      fmt(r.busPublishedPerMsg, 2),
      fmt(r.busConsumedPerMsg, 2),
      fmt(r.brokerSentBytesPerMsg),
      fmt(r.brokerRecvBytesPerMsg),
      fmt(r.instanceCpuUsPerMsg),
      fmt(r.instanceCpuNetUsPerMsg),
      fmt(r.idleCpuPct, 1),
      fmt(r.rabbitCpuUsPerMsg),
      fmt(r.redisCpuUsPerMsg),
    ]),
  );
}

/** Growth from the smallest to the largest cluster of a figure, per routing (1.00 = flat). */
export function scalingGrowth(rows: ScalingRow[], key: keyof ScalingRow): Record<string, number> {
  const out: Record<string, number> = {};
  for (const routing of ["direct", "fanout"]) {
    const rs = rows.filter((r) => r.routing === routing).sort((a, b) => a.instances - b.instances);
    if (rs.length >= 2) out[routing] = (rs.at(-1)![key] as number) / (rs[0][key] as number);
  }
  return out;
}

if (import.meta.main) {
  const rows = await runScaling();
  console.log(scalingTable(rows));
  console.log(`\ngrowth ${rows[0]?.instances}→${rows.at(-1)?.instances} instances, broker bytes out/msg: ${JSON.stringify(scalingGrowth(rows, "brokerSentBytesPerMsg"))}; instance CPU/msg net of idle: ${JSON.stringify(scalingGrowth(rows, "instanceCpuNetUsPerMsg"))}`);
  progress("scaling done");
  process.exit(0);
}
