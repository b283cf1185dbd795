// The allocation-free histogram: Prometheus' cumulative `le` buckets (a value equal to a bound is in
// it), _sum and _count, in the registry's text beside prom-client's own metrics.
import { expect, test } from "bun:test";
import { Registry } from "prom-client";
import { fastHistogram } from "../../lib/adapters/histogram.ts";

test("observations land in cumulative le buckets with their sum and count", async () => {
  const registry = new Registry();
  const h = fastHistogram(registry, "t_seconds", "a test", [0.01, 0.1, 1]);
  for (const v of [0.005, 0.01, 0.05, 1, 7]) h.observe(v);
  const lines = (await registry.metrics()).split("\n");
  expect(lines).toContain("# TYPE t_seconds histogram");
  expect(lines).toContain('t_seconds_bucket{le="0.01"} 2');
  expect(lines).toContain('t_seconds_bucket{le="0.1"} 3');
  expect(lines).toContain('t_seconds_bucket{le="1"} 4');
  expect(lines).toContain('t_seconds_bucket{le="+Inf"} 5');
  expect(lines).toContain("t_seconds_sum 8.065");
  expect(lines).toContain("t_seconds_count 5");
});
