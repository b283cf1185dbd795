// Benchmark 6: getNettyOnlineInfo requests per second per instance (2 instances), with wrk and keep-alive
// (`POST /chat/getNettyOnlineInfo`, the seed's route); a Bun fetch loop stands in when wrk is missing.
//
//   bun run bench/online-info.ts [--quick] [--seconds=10] [--http-conns=64]
import { join } from "node:path";
import { arg, BENCH_DIR, fmt, progress, QUICK, run, saveResult, table } from "./lib/common.ts";
import { startBenchCluster } from "./lib/im-cluster.ts";

export interface OnlineInfoRow {
  instance: number;
  tool: string;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

const WRK_SCRIPT = join(BENCH_DIR, "lib/online-info.lua");

const hasWrk = () => Bun.spawnSync(["sh", "-c", "command -v wrk"]).exitCode === 0;

/** wrk's --latency report, parsed: requests/s, p50/p99 and non-2xx answers. */
async function wrk(url: string, seconds: number, conns: number): Promise<Omit<OnlineInfoRow, "instance">> {
  const out = await run(["wrk", "-t1", `-c${conns}`, `-d${seconds}s`, "--latency", "-s", WRK_SCRIPT, url], (seconds + 30) * 1000);
  const ms = (s: string | undefined) => {
    const m = /([\d.]+)(us|ms|s)/.exec(s ?? "");
    return m ? Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1) : NaN;
  };
  return {
    tool: `wrk -t1 -c${conns}`,
    reqPerS: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50Ms: ms(/ 50%\s+(\S+)/.exec(out)?.[1]),
    p99Ms: ms(/ 99%\s+(\S+)/.exec(out)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** The fallback: `conns` keep-alive fetch loops for `seconds`. */
async function fetchLoop(url: string, seconds: number, conns: number): Promise<Omit<OnlineInfoRow, "instance">> {
  const lat: number[] = [];
  let non2xx = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: conns }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const res = await fetch(url, { method: "POST" });
      await res.arrayBuffer();
      if (!res.ok) non2xx++;
      lat.push(performance.now() - t);
    }
  }));
  lat.sort((a, b) => a - b);
  return { tool: `bun fetch x${conns}`, reqPerS: lat.length / seconds, p50Ms: lat[Math.floor(lat.length / 2)], p99Ms: lat[Math.floor(lat.length * 0.99)], non2xx };
}

export async function runOnlineInfo(): Promise<OnlineInfoRow[]> {
  const seconds = Number(arg("seconds", QUICK ? "3" : "10"));
  const conns = Number(arg("http-conns", "64"));
  const useWrk = hasWrk();
  if (!useWrk) progress("wrk not found (apt-get install -y wrk): using a Bun fetch loop");
  const c = await startBenchCluster(2);
  const rows: OnlineInfoRow[] = [];
  try {
    for (let i = 0; i < c.size; i++) {
      const url = `${c.httpUrl(i)}/chat/getNettyOnlineInfo`;
      const r = await (useWrk ? wrk : fetchLoop)(url, seconds, conns);
      rows.push({ instance: i, ...r });
      progress(`getNettyOnlineInfo on instance ${i}: ${fmt(r.reqPerS)} req/s, p99 ${fmt(r.p99Ms, 2)} ms`);
    }
  } finally {
    await c.stop();
  }
  saveResult("online-info", rows);
  return rows;
}

export function onlineInfoTable(rows: OnlineInfoRow[]): string {
  return table(
    ["instance", "tool", "req/s", "p50 ms", "p99 ms", "non-2xx"],
    rows.map((r) => [r.instance, r.tool, fmt(r.reqPerS), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), r.non2xx]),
  );
}

if (import.meta.main) {
  console.log(onlineInfoTable(await runOnlineInfo()));
  progress("online-info done");
  process.exit(0);
}
