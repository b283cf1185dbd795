// What acking only after durable acceptance costs: at a normal load (paced, 2 instances), the time
// each message spends in the store write (group commit) and waiting for the broker's publisher
// confirm before its ack, against the end-to-end latency. From the instances' own histograms.
//
//   bun run bench/ack-cost.ts [--quick] [--rate=1000] [--pairs=50]
import { connectIm } from "./lib/clients.ts";
import { arg, fmt, progress, QUICK, saveResult, scrapeMetrics, table } from "./lib/common.ts";
import { startBenchCluster } from "./lib/im-cluster.ts";
import { runPairLoad } from "./lib/pair-load.ts";

export async function ackCost() {
  const rate = Number(arg("rate", "1000"));
  const pairs = Number(arg("pairs", "50"));
  const c = await startBenchCluster(2);
  try {
    const before = await scrapeMetrics(c.httpUrl(0));
    const load = await runPairLoad({
      connect: connectIm, pairs, window: 100, rate, warmupMs: 0, measureMs: QUICK ? 3000 : 10_000,
      senderUrl: () => c.wsUrl(0), receiverUrl: () => c.wsUrl(1), tag: `ack${Date.now().toString(36)}`, label: `paced ${rate} msg/s`,
    });
    const after = await scrapeMetrics(c.httpUrl(0));
    const mean = (name: string) => ((after[`${name}_sum`] - (before[`${name}_sum`] ?? 0)) / (after[`${name}_count`] - (before[`${name}_count`] ?? 0))) * 1000;
    const result = {
      rate, pairs,
      storeWriteMeanMs: mean("im_store_write_seconds"),
      brokerConfirmMeanMs: mean("im_bus_publish_seconds"),
      endToEndP50Ms: load.p50Ms,
      endToEndP99Ms: load.p99Ms,
    };
    console.log(table(
      ["paced msg/s", "store write before ack, mean ms", "broker confirm before ack, mean ms", "end-to-end p50 ms", "p99 ms"],
      [[fmt(rate), fmt(result.storeWriteMeanMs, 2), fmt(result.brokerConfirmMeanMs, 2), fmt(load.p50Ms, 2), fmt(load.p99Ms, 2)]],
    ));
    saveResult("ack-cost", result);
    return result;
  } finally {
    await c.stop();
  }
}

if (import.meta.main) {
  await ackCost();
  progress("ack-cost done");
  process.exit(0);
}
