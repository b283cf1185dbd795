// Diagnostic: where the tail latency of a paced 1:1 load comes from. Runs the same paced load
// (P pairs, fixed rate) on a standalone instance (no broker, no Redis), on 2 cluster instances
// with sender and receiver on the same instance, and across instances; prints delivery and ack
// percentiles for each.
//
//   bun run bench/latency-probe.ts [--pairs=50] [--rate=5000] [--measure-ms=8000] [--shapes=standalone,same,cross]
import { connectIm } from "./lib/clients.ts";
import { arg, progress } from "./lib/common.ts";
import { startBenchCluster } from "./lib/im-cluster.ts";
import { runPairLoad } from "./lib/pair-load.ts";
import { spawnServer } from "../test/support/cluster.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const pairs = Number(arg("pairs", "50"));
const rate = Number(arg("rate", "5000"));
const measureMs = Number(arg("measure-ms", "8000"));
const shapes = arg("shapes", "standalone,same,cross").split(",");
const rows: string[] = [];

async function load(shape: string, sender: string, receiver: string) {
  const r = await runPairLoad({
    connect: connectIm, pairs, rate, window: 100, warmupMs: 2000, measureMs,
    senderUrl: () => sender, receiverUrl: () => receiver, tag: `${shape.replace(/\W+/g, "")}${Math.random().toString(36).slice(2, 6)}`, label: shape,
  });
  rows.push(`| ${shape} | ${r.msgsPerS.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(1)} | ${r.ackP50Ms.toFixed(2)} | ${r.ackP99Ms.toFixed(2)} |`);
}

if (shapes.includes("standalone")) {
  const dir = mkdtempSync(join(tmpdir(), "im-probe-"));
  const node = await spawnServer({ PORT: "0", LOG_LEVEL: "warn", FRAME_RATE_PER_CONN: "0", DATABASE_URL: `sqlite://${dir}/chat.db` });
  try {
    const url = `ws://127.0.0.1:${node.port}/ws`;
    await load("standalone", url, url);
  } finally {
    for (const l of node.log) if (l.includes("LAG")) console.error("server", l);
    node.proc.kill();
    await node.proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
if (shapes.includes("same") || shapes.includes("cross")) {
  const c = await startBenchCluster(2);
  try {
    if (shapes.includes("same")) await load("cluster, same instance", c.wsUrl(0), c.wsUrl(0));
    if (shapes.includes("cross")) await load("cluster, across instances", c.wsUrl(0), c.wsUrl(1));
  } finally {
    await c.stop();
  }
}
progress("done");
console.log(`${pairs} pairs paced at ${rate} msg/s\n\n| shape | msg/s | p50 ms | p99 ms | max ms | ack p50 ms | ack p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n${rows.join("\n")}`);
