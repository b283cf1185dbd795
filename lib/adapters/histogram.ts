// A Prometheus histogram for per-message observations that allocates nothing when it observes:
// prom-client's own makes a closure and a label object per observe(). Exposed through the same
// registry, in the same text format.
import type { Registry } from "prom-client";

/** What the hot path sees: one call, a bucket search over a few bounds, three increments. */
export interface FastHistogram {
  observe(value: number): void;
}

/**
 * Registers histogram `name` (no labels) with upper bounds `buckets` (ascending, seconds or
 * counts) on `registry`; prom-client asks it for its values at each scrape.
 */
export function fastHistogram(registry: Registry, name: string, help: string, buckets: readonly number[]): FastHistogram {
  const bounds = Float64Array.from(buckets);
  const counts = new Float64Array(bounds.length + 1); // the last one is +Inf
  let sum = 0;
  let count = 0;
  const les = [...buckets.map(String), "+Inf"];
  const metric = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    get() {
      let cumulative = 0;
      const values: Array<{ metricName: string; labels: Record<string, string>; value: number }> = [];
      for (let i = 0; i < counts.length; i++) {
        cumulative += counts[i];
        values.push({ metricName: `${name}_bucket`, labels: { le: les[i] }, value: cumulative });
      }
      values.push({ metricName: `${name}_sum`, labels: {}, value: sum }, { metricName: `${name}_count`, labels: {}, value: count });
      return { name, help, type: "histogram", aggregator: "sum", values };
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry["registerMetric"]>[0]);
  return {
    observe(value) {
      let i = 0;
      while (i < bounds.length && value > bounds[i]) i++;
      counts[i]++;
      sum += value;
      count++;
    },
  };
}
