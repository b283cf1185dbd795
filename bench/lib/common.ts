// Shared helpers of the benchmarks: arguments, progress, machine facts, /proc readers, percentiles, metrics.
import { cpus, totalmem } from "node:os";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const BENCH_DIR = join(import.meta.dir, "..");
export const ROOT = join(BENCH_DIR, "..");
export const RESULTS_DIR = join(BENCH_DIR, "results");

/**
 * Redis database of the benchmark clusters. The tests take 1–13 (startCluster flushes its database),
 * so the benchmarks keep to 14 and can run while someone runs the test suite.
 */
export const REDIS_DB = Number(Bun.env.BENCH_REDIS_DB ?? 14);

/** `--quick`: a short smoke run with small loads (every figure is still printed). */
export const QUICK = process.argv.includes("--quick") || Bun.env.BENCH_QUICK === "1";

/** The value of `--name=value` (or `--name value`), else `fallback`. */
export function arg(name: string, fallback: string): string {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}` && i + 1 < argv.length) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return fallback;
}

/** A comma-separated list of numbers from `--name=1,2`. */
export const numList = (name: string, fallback: number[]) => arg(name, fallback.join(",")).split(",").map(Number);

const t0 = performance.now();
/** Progress on stderr, with seconds since start, so stdout stays the figures. */
export function progress(...parts: unknown[]): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  console.error(`[${s}s]`, ...parts);
}

/** Facts about this machine for the summary. */
export function machineInfo() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    nproc: navigator.hardwareConcurrency,
    cpu: model,
    ramGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel,
    bun: Bun.version,
  };
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux

/** utime + stime of a process (and its reaped children are not counted), in milliseconds of CPU. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in KiB (VmRSS), NaN when it is gone. */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** PIDs whose command line contains `needle` (e.g. RabbitMQ's beam.smp), for CPU accounting. */
export function pidsOf(needle: string): number[] {
  const out = Bun.spawnSync(["pgrep", "-f", needle]).stdout.toString().trim();
  return out ? out.split("\n").map(Number) : [];
}

/** The p-th percentile (0–100) of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Latency summary of raw samples (ms). */
export function latencySummary(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = Float64Array.from(samples).sort();
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN };
}

/** Sums of every sample of each metric name in a Prometheus text body (labels summed over). */
export async function scrapeMetrics(baseUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const sums: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isFinite(value)) sums[m[1]] = (sums[m[1]] ?? 0) + value;
  }
  return sums;
}

/** Runs a command and returns its stdout (throws with stderr on failure). */
export async function run(cmd: string[], timeoutMs = 60_000): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err.trim()}`);
  return out;
}

/** Writes `data` as JSON to bench/results/<name>.json and returns the path. */
export function saveResult(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n");
  return path;
}

/** Formats a number for a table: thousands separators, `digits` decimals. */
export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A markdown table. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Runs `fn` with a bound: rejects after `ms` with a message naming `what`. */
export async function within<T>(ms: number, what: string, fn: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([fn, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
