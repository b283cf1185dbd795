// CPU profile of both instances of a 2-instance cluster under the cross-instance throughput load
// (closed loop, direct routing by default), with Bun's sampling profiler (`--cpu-prof`, via BUN_OPTIONS).
// Instance 0 holds the senders (decode, store, unread publish, route lookup, bus publish, ack); instance 1
// the receivers (bus consume, decode, deliver). Writes .cpuprofile + Bun's markdown to bench/results/profile/.
//
//   bun run bench/profile.ts [--quick] [--routing=direct|fanout] [--pairs=200] [--window=10] [--seconds=15]
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connectIm } from "./lib/clients.ts";
import { arg, cpuMs, fmt, progress, QUICK, RESULTS_DIR, ROOT, run, saveResult, table } from "./lib/common.ts";
import { startBenchCluster } from "./lib/im-cluster.ts";
import { runPairLoad, type PairLoadResult } from "./lib/pair-load.ts";

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  role: string;
  pid: number;
  samples: number;
  /** [function, location, self %] of the hottest functions. */
  topSelf: Array<[string, string, number]>;
  /** [function, location, total %] (inclusive) of the message-path functions. */
  topTotal: Array<[string, string, number]>;
  /** [file or category, self %]. */
  byFile: Array<[string, number]>;
  /** [component, self %]: native and runtime-internal time charged to the nearest project or package frame. */
  byComponent: Array<[string, number]>;
  /** [function, location, total %] of this project's own functions (lib/, server.ts). */
  ours: Array<[string, string, number]>;
}

const relUrl = (url: string) => {
  const path = url.replace(/^file:\/\//, "");
  return path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path;
};

/** The project file or package a frame belongs to, or undefined for runtime internals and native code. */
function componentOf(url: string): string | undefined {
  if (/^(internal:sql|bun:sql)/.test(url)) return "Bun.SQL / SQLite (lib/adapters/sql/store.ts writes and reads)";
  const s = shortUrl(url);
  if (s.startsWith("lib/") || s === "server.ts" || s.startsWith("node_modules/")) return s;
  return undefined;
}

const shortUrl = (url: string) => {
  if (!url) return "(native)";
  const path = url.replace(/^file:\/\//, "");
  const rel = path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path;
  return rel.replace(/^node_modules\/([^/]+|@[^/]+\/[^/]+)\/.*/, "node_modules/$1");
};

/** Self and inclusive shares over the samples whose time (from the profile's start) is in [fromMs, toMs). */
export function summarize(profile: CpuProfile, role: string, pid: number, fromMs: number, toMs: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || "(anonymous)"}\t${f.url ? `${relUrl(f.url)}:${f.lineNumber + 1}` : "(native)"}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  const components = new Map<string, number>();
  let t = 0, n = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] / 1000;
    if (t < fromMs || t >= toMs) continue;
    n++;
    const id = profile.samples[i];
    const k = key(id);
    self.set(k, (self.get(k) ?? 0) + 1);
    const f = byId.get(id)!.callFrame;
    const file = f.url ? shortUrl(f.url) : f.functionName.startsWith("(") ? f.functionName : "(native)";
    files.set(file, (files.get(file) ?? 0) + 1);
    let comp: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined && !comp; cur = parent.get(cur)) comp = componentOf(byId.get(cur)!.callFrame.url);
    comp ??= f.functionName === "(garbage collector)" ? "(garbage collector)" : "(runtime: event loop, timers, streams)";
    components.set(comp, (components.get(comp) ?? 0) + 1);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = key(cur);
      if (seen.has(ck)) continue;
      seen.add(ck);
      total.set(ck, (total.get(ck) ?? 0) + 1);
    }
  }
  const pct = (v: number) => +((100 * v) / Math.max(1, n)).toFixed(1);
  const split = (k: string): [string, string] => k.split("\t") as [string, string];
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    role,
    pid,
    samples: n,
    topSelf: sorted(self).slice(0, 30).map(([k, v]) => [...split(k), pct(v)]),
    topTotal: sorted(total)
      .filter(([k]) => !/^\(|^(anonymous)\t\(native\)$/.test(k))
      .slice(0, 40)
      .map(([k, v]) => [...split(k), pct(v)]),
    byFile: sorted(files).map(([k, v]) => [k, pct(v)]),
    byComponent: sorted(components).map(([k, v]) => [k, pct(v)]),
    ours: sorted(total)
      .filter(([k]) => /\t(lib\/|server\.ts)/.test(k))
      .slice(0, 30)
      .map(([k, v]) => [...split(k), pct(v)]),
  };
}

export interface ProfileResult {
  routing: string;
  /** CPU ms per wall second (1000 = one core) of each instance in the window. */
  cpuPerS: number[];
  /** `perf` split of the instances' CPU by thread and binary (native, kernel, JIT), when perf works. */
  perf: string | null;
  load: PairLoadResult;
  summaries: ProfileSummary[];
  dir: string;
}

/** Samples the instances with `perf` (no call graphs) and returns the share of samples by process, thread and binary. */
async function perfSplit(pids: number[], seconds: number): Promise<string | null> {
  const data = join(RESULTS_DIR, "profile", "perf.data");
  try {
    await run(["perf", "record", "-q", "-F", "499", "-o", data, "-p", pids.join(","), "--", "sleep", String(seconds)], (seconds + 30) * 1000);
    const out = await run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "pid,comm,dso", "--percent-limit", "1"], 60_000);
    return out.split("\n").filter((l) => l.trim() && !l.startsWith("#")).join("\n");
  } catch (err) {
    progress(`perf unavailable: ${(err as Error).message.split("\n")[0]}`);
    return null;
  }
}

export async function runProfile(): Promise<ProfileResult> {
  const routing = arg("routing", "direct");
  const pairs = Number(arg("pairs", "200"));
  const window = Number(arg("window", "10"));
  const seconds = Number(arg("seconds", QUICK ? "5" : "15"));
  const dir = join(RESULTS_DIR, "profile");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const spawnedAt = performance.now();
  const c = await startBenchCluster(2, { ROUTING: routing, BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-dir=${dir}` });
  const pids = c.nodes.map((n) => n.proc.pid);
  let load: PairLoadResult;
  let loadFrom = 0, loadTo = 0;
  let cpu0: number[] = [], cpuPerS: number[] = [], w0 = 0;
  let perf: Promise<string | null> = Promise.resolve(null);
  try {
    const warmupMs = 1000;
    load = await runPairLoad({
      connect: connectIm, pairs, window, warmupMs, measureMs: seconds * 1000,
      senderUrl: () => c.wsUrl(0), receiverUrl: () => c.wsUrl(1),
      tag: `prof-${Math.random().toString(36).slice(2, 6)}`, label: `profile ${routing}`,
      onWindow(phase) {
        const now = performance.now();
        if (phase === "start") {
          // Only the measured window counts (relative to the instance's start, which is about the profile's).
          loadFrom = now - spawnedAt;
          cpu0 = pids.map(cpuMs);
          w0 = now;
          perf = perfSplit(pids, Math.max(1, seconds - 1));
        } else {
          loadTo = now - spawnedAt;
          cpuPerS = pids.map((p, i) => ((cpuMs(p) - cpu0[i]) * 1000) / (now - w0));
        }
      },
    });
  } finally {
    await c.stop();
  }
  await Bun.sleep(500);
  const summaries: ProfileSummary[] = [];
  const files = readdirSync(dir);
  for (const [i, pid] of pids.entries()) {
    const file = files.find((f) => f.endsWith(".cpuprofile") && f.includes(`.${pid}.`));
    if (!file) {
      progress(`no CPU profile for pid ${pid} in ${dir} (files: ${files.join(", ")})`);
      continue;
    }
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    // Instances start one after the other: the second one's profile begins later than spawnedAt.
    const shift = i === 0 ? 0 : -1200;
    summaries.push(summarize(profile, i === 0 ? "instance 0 (senders)" : "instance 1 (receivers)", pid, loadFrom + shift, loadTo + shift));
  }
  const result = { routing, cpuPerS, perf: await perf, load: load!, summaries, dir };
  saveResult("profile", result);
  return result;
}

export function profileTables(r: ProfileResult): string {
  const out: string[] = [];
  out.push(`Load: ${r.routing} routing, ${r.load.pairs} pairs, W=${r.load.window}, ${fmt(r.load.msgsPerS)} msg/s. Profiles: ${r.dir}`);
  out.push(`Instance CPU in the window: ${r.cpuPerS.map((v) => `${(v / 10).toFixed(0)}% of a core`).join(", ")}. ` +
    "The JS sampler records only while JavaScript (or native code it called) runs; percentages below are of those samples.");
  for (const [i, s] of r.summaries.entries()) {
    out.push(`\n#### ${s.role}, pid ${s.pid}, ${s.samples} JS samples in the window (1 ms interval; process CPU ${fmt((r.cpuPerS[i] ?? NaN) / 10)}% of a core)\n`);
    out.push("Self time by component (native and runtime time charged to the nearest project/package frame):\n");
    out.push(table(["component", "self %"], s.byComponent.slice(0, 16)));
    out.push("\nHottest functions (self):\n");
    out.push(table(["function", "location", "self %"], s.topSelf.slice(0, 20)));
    out.push("\nInclusive time of this project's functions:\n");
    out.push(table(["function", "location", "total %"], s.ours.slice(0, 25)));
    out.push("\nInclusive time, all frames:\n");
    out.push(table(["function", "location", "total %"], s.topTotal.slice(0, 30)));
  }
  if (r.perf) out.push(`\n#### perf: CPU samples by process, thread, binary (499 Hz)\n\n\`\`\`\n${r.perf}\n\`\`\``);
  return out.join("\n");
}

if (import.meta.main) {
  const r = await runProfile();
  console.log(profileTables(r));
  progress("profile done");
  process.exit(0);
}
