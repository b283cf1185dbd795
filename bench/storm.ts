// Benchmark 4: reconnect storm. C connections (default 2,000 and 10,000) over 2 instances, opened first,
// then CONNECT_INIT on all of them at once from several client processes; time until every init is
// acked (CONNECT_INIT/s) and until every instance's onlineCounts in ZooKeeper is exact (polled every
// 10 ms), and the rw-lock acquisitions it took; then all close at once and the time until the counts are 0.
//
// With --seed-conns (default 2000) the same storm also runs against instances started with
// BENCH_SEED_STYLE_COUNTS=1: the seed's one lock acquisition (and a read of every node) per connect.
//
//   bun run bench/storm.ts [--quick] [--conns=2000,10000] [--per-worker=2500] [--seed-conns=2000]
import { arg, fmt, numList, progress, QUICK, saveResult, table } from "./lib/common.ts";
import { startConnPool } from "./lib/conn-pool.ts";
import { startBenchCluster, znodeChildren, type Cluster } from "./lib/im-cluster.ts";

export interface StormRow {
  /** "coalesced" (this server) or "seed-style" (one lock acquisition per change). */
  mode: string;
  conns: number;
  clientProcesses: number;
  openMs: number;
  upgradesPerS: number;
  /** From the moment "init" went to the client processes to the last ack. */
  initAckedMs: number;
  connectInitsPerS: number;
  /** From "init" to every onlineCounts being exact in ZooKeeper. */
  countsExactMs: number;
  /** countsExactMs - initAckedMs: how long the registry lagged the last bind. */
  countsLagMs: number;
  /** rw-lock nodes created during the storm (each acquisition creates one and deletes it). */
  lockAcquisitions: number;
  closeCountsZeroMs: number;
  acked: number;
  errors: Record<string, number>;
}

/** Polls ZooKeeper until `want(counts by port)` holds; resolves with the elapsed ms from `since`, or NaN after `boundMs`. */
async function waitCounts(c: Cluster, want: (byPort: Map<number, number>) => boolean, since: number, boundMs: number): Promise<number> {
  const deadline = since + boundMs;
  while (performance.now() < deadline) {
    const list = await c.serverList();
    const byPort = new Map(list.map((e) => {
      const d = JSON.parse(e.data);
      return [d.port as number, d.onlineCounts as number];
    }));
    if (want(byPort)) return performance.now() - since;
    await Bun.sleep(10);
  }
  return NaN;
}

export async function runStorm(): Promise<StormRow[]> {
  const connsList = numList("conns", QUICK ? [2000] : [2000, 10000]);
  const perWorker = Number(arg("per-worker", "2500"));
  const seedConns = numList("seed-conns", [2000]).filter((n) => n > 0);
  const runs = [...connsList.map((conns) => ({ conns, mode: "coalesced" })), ...seedConns.map((conns) => ({ conns, mode: "seed-style" }))];
  const rows: StormRow[] = [];
  for (const { conns, mode } of runs) {
    const c = await startBenchCluster(2, mode === "seed-style" ? { BENCH_SEED_STYLE_COUNTS: "1" } : {});
    try {
      const workers = Math.max(1, Math.ceil(conns / perWorker));
      const urls = [c.wsUrl(0), c.wsUrl(1)];
      const pool = startConnPool(urls, conns, workers, `st${conns}-${Math.random().toString(36).slice(2, 6)}-`);
      const opened = await pool.opened();
      const expected = new Map(c.nodes.map((n, i) => [n.port, pool.perUrl[i]]));
      const lock0 = await znodeChildren(c, "rw-lock");
      progress(`storm C=${conns} (${mode}): CONNECT_INIT on all at once`);
      const t0 = performance.now();
      const exact = waitCounts(c, (m) => [...expected].every(([port, n]) => m.get(port) === n), t0, 30_000);
      const init = await pool.init();
      const initAckedMs = performance.now() - t0;
      const countsExactMs = await exact;
      const lock1 = await znodeChildren(c, "rw-lock");
      const t1 = performance.now();
      const zero = waitCounts(c, (m) => [...expected.keys()].every((port) => m.get(port) === 0), t1, 30_000);
      await pool.close();
      const closeCountsZeroMs = await zero;
      const row: StormRow = {
        mode,
        conns,
        clientProcesses: workers,
        openMs: opened.ms,
        upgradesPerS: (opened.n * 1000) / opened.ms,
        initAckedMs,
        connectInitsPerS: (init.n * 1000) / initAckedMs,
        countsExactMs,
        countsLagMs: countsExactMs - initAckedMs,
        lockAcquisitions: Math.round((lock1.cversion - lock0.cversion) / 2),
        closeCountsZeroMs,
        acked: init.n,
        errors: { ...opened.errors, ...init.errors },
      };
      progress(
        `storm C=${conns} (${mode}): ${init.n} acked in ${initAckedMs.toFixed(0)} ms (${row.connectInitsPerS.toFixed(0)}/s), ` +
          `counts exact at ${countsExactMs.toFixed(0)} ms, ${row.lockAcquisitions} lock acquisitions, zero ${closeCountsZeroMs.toFixed(0)} ms after close`,
      );
      rows.push(row);
    } finally {
      await c.stop();
    }
  }
  saveResult("storm", rows);
  return rows;
}

export function stormTable(rows: StormRow[]): string {
  return table(
    ["counts", "connections", "client procs", "open ms (upgrades/s)", "init→all acked ms", "CONNECT_INIT/s", "init→ZK exact ms", "ZK lag after last ack ms", "rw-lock acquisitions", "close→ZK 0 ms", "errors"],
    rows.map((r) => [
      r.mode,
      fmt(r.conns),
      r.clientProcesses,
      `${fmt(r.openMs)} (${fmt(r.upgradesPerS)})`,
      fmt(r.initAckedMs),
      fmt(r.connectInitsPerS),
      fmt(r.countsExactMs),
      fmt(r.countsLagMs),
      r.lockAcquisitions,
      fmt(r.closeCountsZeroMs),
      JSON.stringify(r.errors).replace(/"/g, ""),
    ]),
  );
}

if (import.meta.main) {
  console.log(stormTable(await runStorm()));
  progress("storm done");
  process.exit(0);
}
