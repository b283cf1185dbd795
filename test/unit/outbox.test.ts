// The outbox in front of the bus: frames held during an outage flush in order; past the bound, refused.
import { describe, expect, test } from "bun:test";
import type { Envelope, MessageBus } from "../../lib/core/ports.ts";
import { silentLogger } from "../../lib/log.ts";
import { createOutbox } from "../../lib/adapters/outbox.ts";

/** A bus whose broker is down until `up` is set: publishes reject (counted), then land in `landed`. */
function flakyBus() {
  const state = { up: false, attempts: 0, landed: [] as string[] };
  const bus: MessageBus = {
    publish: async (_targets, envelope) => {
      state.attempts++;
      if (!state.up) throw new Error("broker unavailable");
      state.landed.push(envelope.frame);
    },
    onEnvelope() {},
    acceptsMore: true,
  };
  return { bus, state };
}

const env = (frame: string): Envelope => ({ audience: { kind: "everyone" }, frame });

/** Resolves once `check` holds (polled each millisecond), failing after a second. */
async function until(check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 1000; !check(); await Bun.sleep(1)) if (Date.now() > deadline) throw new Error("condition not met within 1 s");
}

describe("outbox", () => {
  test("frames published while the bus is down are held, then flushed in order, each promise resolving then", async () => {
    const { bus, state } = flakyBus();
    const outbox = createOutbox(bus, { log: silentLogger, retryMs: 5, maxRetryMs: 20 });
    const done: string[] = [];
    const sent = ["a", "b", "c", "d"].map((f) => outbox.publish(["x"], env(f)).then(() => done.push(f)));
    await until(() => outbox.backlog === 4 && state.attempts > 4); // held, and retried meanwhile
    expect(outbox.backlog).toBe(4);
    expect(done).toEqual([]);
    state.up = true;
    await Promise.all(sent);
    expect(state.landed).toEqual(["a", "b", "c", "d"]);
    expect(done).toEqual(["a", "b", "c", "d"]);
    expect(outbox.backlog).toBe(0);
    // Once back, a publish goes straight through.
    await outbox.publish(["x"], env("e"));
    expect(state.landed.at(-1)).toBe("e");
  });

  test("past maxFrames the outbox is full and refuses instead of growing", async () => {
    const { bus } = flakyBus();
    const outbox = createOutbox(bus, { log: silentLogger, maxFrames: 3, retryMs: 5, maxRetryMs: 10 });
    const held = [1, 2, 3].map((i) => outbox.publish("all", env(String(i))).catch(() => "rejected"));
    await until(() => outbox.backlog === 3);
    expect(outbox.acceptsMore).toBe(false);
    await expect(outbox.publish("all", env("4"))).rejects.toThrow("outbox full");
    await outbox.close(); // the broker never came back: the held frames are rejected, not kept
    expect(await Promise.all(held)).toEqual(["rejected", "rejected", "rejected"]);
  });
});
