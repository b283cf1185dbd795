// /metrics parses as Prometheus text and carries the instance's metrics with real values.
import { afterAll, beforeAll, expect, test } from "bun:test";
// @ts-expect-error: the parser ships no type declarations
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { standaloneTarget, type Target } from "./support/target.ts";
import { TestClient } from "./support/ws-client.ts";

let t: Target;
beforeAll(async () => {
  t = await standaloneTarget();
});
afterAll(() => t.stop());

type Family = { name: string; type: string; metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }> };

test("/metrics parses with a Prometheus text parser and counts what happened", async () => {
  const a = await TestClient.login(t.wsUrl(), "m-a");
  const b = await TestClient.login(t.wsUrl(), "m-b");
  await a.say("m-a", "m-b", "hi");
  await b.nextMessage();
  a.send("{bad");
  await a.next((f) => f.error);
  const text = await (await fetch(`${t.httpUrl()}/metrics`)).text();
  const families: Family[] = parsePrometheusTextFormat(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  const value = (name: string, labels: Record<string, string> = {}) =>
    Number(byName.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);
  expect(value("im_connections")).toBe(2);
  expect(value("im_online_counts")).toBe(2);
  expect(value("im_online_users")).toBe(2);
  expect(value("im_frames_in_total", { type: "1" })).toBe(1);
  expect(value("im_errors_total", { code: "BAD_JSON" })).toBe(1);
  expect(value("im_messages_delivered_total", { origin: "local" })).toBe(1);
  expect(byName.get("im_store_write_seconds")?.type).toBe("HISTOGRAM");
  // The allocation-free histograms (lib/adapters/histogram.ts) parse like prom-client's own.
  const ack = byName.get("im_message_ack_seconds")?.metrics[0];
  expect(byName.get("im_message_ack_seconds")?.type).toBe("HISTOGRAM");
  expect(Number((ack as any)?.count)).toBe(1);
  expect(Number(ack?.buckets?.["+Inf"])).toBe(1);
  expect(Number((byName.get("im_store_write_seconds")?.metrics[0] as any)?.count)).toBe(1);
  expect(value("im_replays_total", { recovered: "true" })).toBe(0);
  expect(value("im_dependency_up", { dependency: "store" })).toBe(1);
  expect(value("im_routes_trusted")).toBe(1);
  for (const name of ["im_bus_publish_seconds", "im_lock_wait_seconds", "im_count_flush_lag_seconds", "im_nodejs_eventloop_lag_seconds", "im_bus_outbox_frames"]) {
    expect(byName.has(name)).toBe(true);
  }
  a.close();
  b.close();
});
