// Runs every benchmark in one go and prints a markdown summary (also written to bench/results/summary.md):
// machine, code version, commands, every figure, and each target of the issue as met / not met with its ratio.
//
//   bun run bench/run.ts [--quick] [--peer=both|node|bun] [--only=throughput,scaling,storm,memory,online-info,group,profile]
// Needs ZooKeeper, Redis and RabbitMQ running (bash scripts/services.sh). Progress goes to stderr.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { watchBackground, type CpuShares } from "./lib/background.ts";
import { arg, fmt, machineInfo, progress, QUICK, RESULTS_DIR, ROOT, run, saveResult } from "./lib/common.ts";
import { memoryTable, runMemory, type MemoryRow } from "./memory.ts";
import { onlineInfoTable, runOnlineInfo, type OnlineInfoRow } from "./online-info.ts";
import { profileTables, runProfile, type ProfileResult } from "./profile.ts";
import { runScaling, scalingGrowth, scalingTable, type ScalingRow } from "./scaling.ts";
import { runStorm, stormTable, type StormRow } from "./storm.ts";
import { groupBench } from "./group.ts";
import { runThroughput, throughputOptions, throughputRatios, throughputTable, totalCpuUsPerMsg, type ThroughputRow } from "./throughput.ts";

if (!process.argv.some((a) => a.startsWith("--peer"))) process.argv.push("--peer=both");
if (!process.argv.some((a) => a.startsWith("--stores"))) process.argv.push("--stores=file,postgres");
const only = new Set(arg("only", "throughput,scaling,storm,memory,online-info,group,profile").split(","));
const started = Date.now();
const machine = machineInfo();
const git = async (...a: string[]) => (await run(["git", "-C", ROOT, ...a]).catch(() => "")).trim();
const commit = await git("rev-parse", "--short", "HEAD");
const dirty = (await git("status", "--porcelain", "--", "lib", "server.ts")).split("\n").filter(Boolean).length;

const sections: string[] = [];
const targets: Array<[string, string, string, string]> = []; // target, measured, ratio to target, verdict
const verdict = (ok: boolean) => (ok ? "met" : "**not met**");
const failures: string[] = [];
const load: Array<[string, CpuShares]> = [];

async function section<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  progress(`=== ${name} ===`);
  const watch = watchBackground();
  try {
    return await fn();
  } finally {
    load.push([name, watch.stop()]);
  }
}

async function guarded<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await section(name, fn);
  } catch (err) {
    const msg = `${name} failed: ${(err as Error).stack ?? err}`;
    progress(msg);
    failures.push(msg.split("\n").slice(0, 3).join(" "));
    return undefined;
  }
}

const tput = await guarded("throughput", () => runThroughput(throughputOptions()));
if (tput) {
  const o = throughputOptions();
  sections.push(`### 1–2. Cross-instance throughput and latency vs the Socket.IO peer\n\n` +
    `2 instances; pair i: sender on instance 0, receiver on instance 1; closed loop with W=${o.window} messages un-acked-or-undelivered per pair ` +
    `(each system started fresh and measured in ${o.rounds} round(s) in alternating order; the round with the best max rate is shown) ` +
    `(warm-up ${o.warmupMs} ms, measured ${o.measureMs} ms), then paced at half the measured maximum. Latency: send timestamp in the text → arrival, one process. ` +
    `Peer: 2 Socket.IO 4.8.4 nodes with @socket.io/redis-adapter 8.3.0, one room per user, ` +
    "`socket.to(receiver).to(sender).emit()` plus an ack callback; it stores nothing (this server persists every message, to SQLite or to PostgreSQL, and counts it unread in Redis before the ack).\n\n" +
    throughputTable(tput));
  const ratios = peerRatios(tput);
  sections.push("Throughput ratios (ours / peer, closed loop):\n\n" +
    ["| routing | pairs | peer runtime | ours msg/s | peer msg/s | ours/peer | CPU per msg of all processes (servers, RabbitMQ, Redis, PostgreSQL, load generator), peer/ours |", "| --- | --- | --- | --- | --- | --- | --- |",
      ...ratios.map((r) => `| ${r.routing} | ${r.pairs} | ${r.runtime} | ${fmt(r.ours)} | ${fmt(r.peer)} | ${r.ratio.toFixed(2)}× | ${r.cpuRatio.toFixed(2)}× |`)].join("\n"));
  // Targets of the performance issue: ≥ 2× the peer on Node and ≥ 1.2× on Bun (direct routing, each store),
  // ≤ 90 µs of CPU per message summed over every process (SQLite), p99 ≤ 15 ms at half the maximum rate.
  for (const r of ratios.filter((r) => r.routing.startsWith("direct"))) {
    const want = r.runtime === "node" ? 2 : 1.2;
    targets.push([`throughput ≥ ${want}× Socket.IO peer (${r.runtime}), ${r.routing}, P=${r.pairs}`, `${r.ratio.toFixed(2)}×`, `${(r.ratio / want).toFixed(2)} of target`, verdict(r.ratio >= want)]);
  }
  const ours = tput.filter((r) => r.system.startsWith("im ") && !r.system.includes("["));
  for (const r of ours.filter((r) => r.system === "im direct")) {
    const total = totalCpuUsPerMsg(r);
    targets.push([`CPU per message, all processes summed ≤ 90 µs, direct, P=${r.pairs}`, `${fmt(total)} µs (servers ${fmt(r.serverCpuUsPerMsg)}, RabbitMQ ${fmt(r.rabbitCpuUsPerMsg)}, Redis ${fmt(r.redisCpuUsPerMsg)}, load generator ${fmt(r.loadCpuUsPerMsg)})`, `${(total / 90).toFixed(2)}× the bound`, verdict(total <= 90)]);
  }
  for (const r of ours.filter((r) => r.system.startsWith("im direct"))) {
    targets.push([`p99 ≤ 15 ms at half max rate, ${r.system.slice(3)}, P=${r.pairs}`, `${fmt(r.half.p99Ms, 1)} ms at ${fmt(r.half.msgsPerS)} msg/s`, `${(r.half.p99Ms / 15).toFixed(2)}× the bound`, verdict(r.half.p99Ms <= 15)]);
  }
}

function peerRatios(rows: ThroughputRow[]) {
  const out: Array<{ routing: string; pairs: number; runtime: string; ours: number; peer: number; ratio: number; cpuRatio: number }> = [];
  for (const runtime of ["bun", "node"]) {
    const sub = rows.filter((r) => r.system.startsWith("im ") || r.system === `socket.io (${runtime})`);
    for (const r of throughputRatios(sub)) out.push({ ...r, runtime });
  }
  return out;
}

const scaling = await guarded("scaling", runScaling);
if (scaling) {
  const consumed = scalingGrowth(scaling, "busConsumedPerMsg");
  const bytes = scalingGrowth(scaling, "brokerSentBytesPerMsg");
  const cpu = scalingGrowth(scaling, "instanceCpuNetUsPerMsg");
  sections.push(`### 3. Instance-count scaling (1:1, fixed total rate)\n\n` +
    "Pair i: sender on instance i mod N, receiver on i+1 mod N. \"bus frames consumed\" counts frames an instance took from its queue for delivery " +
    "(/metrics `im_bus_consumed_total`; with fanout the broker also hands each instance its own broadcasts, which it drops); \"broker bytes\" are the " +
    "vhost's connection socket counters (`rabbitmqctl list_connections send_oct recv_oct`, no management plugin), which also carry publisher confirms, " +
    "acks and the `pitayafruits_queue` persistence traffic (one publish and one delivery per message in both modes). CPU from /proc utime+stime.\n\n" +
    scalingTable(scaling) +
    `\n\nGrowth from ${scaling[0].instances} to ${scaling.at(-1)!.instances} instances — bus frames consumed/msg: direct ${fmt(consumed.direct, 2)}×, fanout ${fmt(consumed.fanout, 2)}×; ` +
    `broker bytes out/msg: direct ${fmt(bytes.direct, 2)}×, fanout ${fmt(bytes.fanout, 2)}×; instance CPU/msg net of idle: direct ${fmt(cpu.direct, 2)}×, fanout ${fmt(cpu.fanout, 2)}×.`);
  targets.push([`direct routing: broker messages per 1:1 message independent of N`, `bus frames consumed/msg ×${fmt(consumed.direct, 2)} from N=${scaling[0].instances} to ${scaling.at(-1)!.instances} (fanout ×${fmt(consumed.fanout, 2)})`, `${fmt(consumed.direct, 2)}× (1.00 = flat)`, verdict(Math.abs(consumed.direct - 1) <= 0.1)]);
}

const storm = await guarded("storm", runStorm);
if (storm) {
  sections.push(`### 4. Reconnect storm (2 instances)\n\nAll connections are opened first (column "open"), then every one sends CONNECT_INIT (with a clientMsgId, acked once routable) at the same moment from ` +
    `several client processes; ZooKeeper's \`/server-list\` nodes are polled every 10 ms. rw-lock acquisitions = created lock nodes (the lock node's cversion/2).\n\n` + stormTable(storm));
  for (const r of storm.filter((row) => row.mode === "coalesced")) {
    const ok = r.connectInitsPerS >= 3000 && r.countsLagMs <= 1000;
    targets.push([`storm C=${fmt(r.conns)}: ≥ 3,000 CONNECT_INIT/s, counts exact within 1 s`, `${fmt(r.connectInitsPerS)}/s; exact ${fmt(r.countsLagMs)} ms after the last ack`, `${(r.connectInitsPerS / 3000).toFixed(2)}× rate target`, verdict(ok)]);
  }
}

const memory = await guarded("memory", runMemory);
if (memory) {
  sections.push(`### 5. Memory per idle connection (1 instance)\n\nWarm-up with 300 connections (opened, CONNECT_INIT'd, closed), then VmRSS before and after C idle CONNECT_INIT'd connections, sampled every 250 ms for 8 s each time (the lowest value counts: the GC collects the connect phase's garbage at moments of its own choosing). ` +
    "`--smol` (via BUN_OPTIONS) runs the same instance with a smaller heap and more frequent GC, which separates live memory from garbage not yet collected.\n\n" + memoryTable(memory));
  const d = memory.find((m) => m.variant === "default") ?? memory[0];
  const kb = (d.perConnKb * 1024) / 1000;
  targets.push([`≤ 6 KB RSS per idle connection at 10,000`, `${fmt(kb, 2)} KB (${fmt(d.perConnKb, 2)} KiB; ${fmt(d.perConnMaxKb, 2)} KiB before the GC ran) at ${fmt(d.conns)}, default runtime options`, `${(kb / 6).toFixed(2)}× the bound`, verdict(kb <= 6 && d.conns >= 10000)]);
}

const info = await guarded("online-info", runOnlineInfo);
if (info) {
  sections.push(`### 6. getNettyOnlineInfo (2 instances, each measured alone)\n\n` + onlineInfoTable(info));
  const min = Math.min(...info.map((r) => r.reqPerS));
  targets.push([`getNettyOnlineInfo ≥ 10,000 req/s per instance`, `${fmt(min)} req/s (slowest instance)`, `${(min / 10000).toFixed(2)}× target`, verdict(min >= 10000)]);
}

const group = await guarded("group", groupBench);
if (group) {
  sections.push(
    `### 7. A group of ${fmt(group.members)} members over 3 instances\n\n` +
      `Last member reached after ${fmt(group.lastMemberMs.p50, 1)} ms (p50 of ${group.messages} messages; max ${fmt(group.lastMemberMs.max, 1)} ms); ` +
      `bus publishes per group message ${fmt(group.publishesPerMessage, 2)}; frames consumed per message on the other instances ${group.framesConsumedPerMessagePerInstance.map((n) => fmt(n, 2)).join(", ")}.`,
  );
  targets.push([`group message: one broker message per holding instance`, `${fmt(group.publishesPerMessage, 2)} publish, ${group.framesConsumedPerMessagePerInstance.map((n) => fmt(n, 2)).join(" + ")} frames consumed`, "", verdict(group.framesConsumedPerMessagePerInstance.every((n) => n === 1))]);
}

const profile = await guarded("profile", runProfile);
if (profile) sections.push(`### Profile of the message path (Bun --cpu-prof, both instances)\n\n` + profileTables(profile));

const header = [
  `## Benchmark results${QUICK ? " (quick smoke run: short windows, small loads)" : ""}`,
  "",
  `- date: ${machine.date}; duration ${((Date.now() - started) / 60000).toFixed(1)} min`,
  `- machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.ramGiB} GiB RAM, Linux ${machine.kernel}, Bun ${machine.bun}, fd limit ${(await run(["sh", "-c", "ulimit -n"])).trim()}`,
  `- code: ${commit}${dirty ? ` + ${dirty} uncommitted file(s) in lib/ and server.ts` : ""}`,
  `- command: \`bun run bench/run.ts${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}\` (each part alone: \`bun run bench/<throughput|scaling|storm|memory|online-info|profile>.ts [--quick]\`)`,
  "- everything (servers, peer, brokers, load generators) shares this machine's cores; the figures are for comparison within one run, not absolute capacity.",
];
const loadTable = [
  "### Machine load during each part",
  "",
  "CPU in % of one core (200% = both cores), sampled from /proc every 500 ms: this benchmark's own processes (instances, peer, load generators), the shared services, and everything else (e.g. other people's test runs, which make the figures noisier).",
  "",
  "| part | seconds | benchmark | services (RabbitMQ, Redis, ZooKeeper, PostgreSQL) | other | RabbitMQ / Redis port found closed (probes every 500 ms) |",
  "| --- | --- | --- | --- | --- | --- |",
  ...load.map(([name, l]) => `| ${name} | ${fmt(l.seconds)} | ${fmt(l.benchmark)}% | ${fmt(l.services)}% | ${fmt(l.other)}% | ${l.outages.rabbitmq} / ${l.outages.redis}${l.outages.rabbitmq + l.outages.redis ? " **(disturbed: a service was down)**" : ""} |`),
].join("\n");
const targetTable = ["### Targets", "", "| target | measured | ratio | verdict |", "| --- | --- | --- | --- |", ...targets.map((t) => `| ${t.join(" | ")} |`)].join("\n");
const summary = [header.join("\n"), targetTable, ...sections, loadTable, failures.length ? `### Failures\n\n${failures.map((f) => `- ${f}`).join("\n")}` : ""].filter(Boolean).join("\n\n") + "\n";
saveResult("summary", { machine, commit, dirty, quick: QUICK, load, targets, throughput: tput, scaling, storm, memory, onlineInfo: info, profile: profile && { ...profile, summaries: undefined } });
writeFileSync(join(RESULTS_DIR, QUICK ? "summary-quick.md" : "summary.md"), summary);
console.log(summary);
progress(`done; summary in ${join(RESULTS_DIR, QUICK ? "summary-quick.md" : "summary.md")}`);
process.exit(failures.length ? 1 : 0);

export type { MemoryRow, OnlineInfoRow, ProfileResult, ScalingRow, StormRow };
