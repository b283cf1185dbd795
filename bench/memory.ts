// Benchmark 5: resident memory per idle CONNECT_INIT'd connection. One cluster instance, warmed up with a
// few hundred connections, then C (default 10,000) connections from several client processes, each
// CONNECT_INIT'd and then idle; VmRSS of the instance before and after, divided by C.
//
// RSS is sampled every 250 ms over the settle time and the lowest value is used (the highest is shown too).
//
//   bun run bench/memory.ts [--quick] [--mem-conns=10000] [--variants=default,--smol] [--per-worker=2500] [--settle-ms=3000]
import { arg, fmt, progress, QUICK, rssKb, saveResult, table } from "./lib/common.ts";
import { startConnPool } from "./lib/conn-pool.ts";
import { startBenchCluster } from "./lib/im-cluster.ts";

export interface MemoryRow {
  /** "default", or the BUN_OPTIONS the instance ran with (e.g. --smol: smaller heap, more frequent GC). */
  variant: string;
  conns: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  rssAfterCloseKb: number;
  /** From the lowest RSS seen while the connections were open (samples every 250 ms over the settle time). */
  perConnKb: number;
  /** From the highest RSS seen meanwhile: the gap is garbage the GC had not collected yet. */
  perConnMaxKb: number;
  acked: number;
}

/** Runs the measurement with the default runtime settings and with `--smol` (live memory vs lazy GC). */
export async function runMemory(): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  for (const variant of arg("variants", "default,--smol").split(",")) rows.push(await runMemoryOnce(variant));
  saveResult("memory", rows);
  return rows;
}

async function runMemoryOnce(variant: string): Promise<MemoryRow> {
  const conns = Number(arg("mem-conns", QUICK ? "2000" : "10000"));
  const perWorker = Number(arg("per-worker", "2500"));
  const settleMs = Number(arg("settle-ms", QUICK ? "2000" : "8000"));
  // RSS moves with the garbage collector's timing: sample it over the settle time, keep the range.
  const sampleRss = async (pid: number) => {
    process.kill(pid, "SIGUSR2"); // the instance runs a full GC: live memory, not garbage, is measured
    const seen: number[] = [];
    for (const end = performance.now() + settleMs; performance.now() < end; ) {
      await Bun.sleep(250);
      seen.push(rssKb(pid));
    }
    return { min: Math.min(...seen), max: Math.max(...seen), last: seen.at(-1)! };
  };
  const c = await startBenchCluster(1, variant === "default" ? {} : { BUN_OPTIONS: variant });
  try {
    const pid = c.nodes[0].proc.pid;
    const url = c.wsUrl(0);
    // Warm-up: the code paths of connect, init and close are compiled and their pools allocated.
    const warm = startConnPool([url], 300, 1, "warm-");
    await warm.opened();
    await warm.init();
    await warm.close();
    const rssBeforeKb = (await sampleRss(pid)).min;
    const pool = startConnPool([url], conns, Math.max(1, Math.ceil(conns / perWorker)), `mem-${Math.random().toString(36).slice(2, 6)}-`);
    await pool.opened();
    const init = await pool.init();
    const after = await sampleRss(pid);
    await pool.close();
    const rssAfterCloseKb = (await sampleRss(pid)).last;
    const row: MemoryRow = {
      variant, conns, rssBeforeKb, rssAfterKb: after.min, rssAfterCloseKb,
      perConnKb: (after.min - rssBeforeKb) / conns,
      perConnMaxKb: (after.max - rssBeforeKb) / conns,
      acked: init.n,
    };
    progress(`memory (${variant}): RSS ${fmt(rssBeforeKb / 1024, 1)} MiB -> ${fmt(after.min / 1024, 1)}–${fmt(after.max / 1024, 1)} MiB with ${init.n} idle connections: ${row.perConnKb.toFixed(2)}–${row.perConnMaxKb.toFixed(2)} KiB each`);
    return row;
  } finally {
    await c.stop();
  }
}

export function memoryTable(rows: MemoryRow[]): string {
  return table(
    ["instance runtime options", "idle connections", "RSS before MiB (lowest)", "RSS with connections MiB (lowest)", "RSS after they closed MiB", "KiB per connection (lowest RSS)", "KiB per connection (highest RSS)"],
    rows.map((r) => [r.variant, fmt(r.conns), fmt(r.rssBeforeKb / 1024, 1), fmt(r.rssAfterKb / 1024, 1), fmt(r.rssAfterCloseKb / 1024, 1), fmt(r.perConnKb, 2), fmt(r.perConnMaxKb, 2)]),
  );
}

if (import.meta.main) {
  console.log(memoryTable(await runMemory()));
  progress("memory done");
  process.exit(0);
}
