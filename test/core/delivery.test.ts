// Delivery (lib/core/delivery.ts): which instances an envelope is published to.
import { expect, test } from "bun:test";
import { createMetrics } from "../../lib/adapters/metrics.ts";
import { createDelivery } from "../../lib/core/delivery.ts";
import type { Envelope } from "../../lib/core/ports.ts";
import { LocalSessions } from "../../lib/core/sessions.ts";
import { silentLogger } from "../../lib/log.ts";

test("a lookup answered after the routes were distrusted (their store came back empty meanwhile) is not believed: the envelope is broadcast", async () => {
  let trusted = true;
  let answer!: (instances: string[]) => void;
  const published: Array<readonly string[] | "all"> = [];
  const delivery = createDelivery({
    instanceId: "i1", sessions: new LocalSessions(), metrics: createMetrics().core, log: silentLogger, routing: "direct", now: Date.now,
    routes: { lookup: () => new Promise<string[]>((resolve) => (answer = resolve)) },
    bus: { acceptsMore: true, onEnvelope() {}, publish: async (targets) => void published.push(targets) },
    routesTrusted: () => trusted,
  });
  const envelope: Envelope = { audience: { kind: "pair", receiverId: "bob", senderId: "alice" }, frame: "{}" };
  const first = delivery.route(envelope);
  trusted = false; // the store reconnected while the lookup was waiting
  answer([]); // the empty store's answer: "bob is nowhere"
  expect(await first).toBe(true);
  expect(published).toEqual(["all"]);

  trusted = true;
  const second = delivery.route(envelope);
  answer(["i2"]);
  await second;
  expect(published).toEqual(["all", ["i2"]]);
});
