// The outbox in front of the bus: frames held during an outage flush in order; past the bound, refused.
import { describe, expect, test } from "bun:test";
import type { MessageBus } from "../../lib/core/bus.ts";
import { silentLogger } from "../../lib/log.ts";
import { createOutbox } from "../../lib/adapters/outbox.ts";

/** A bus whose broker is down until `up` is set: publishes reject, then land in `landed`. */
function flakyBus() {
  const state = { up: false, landed: [] as string[] };
  const bus: MessageBus = {
    publish: async (_targets, frame) => {
      if (!state.up) throw new Error("broker unavailable");
      state.landed.push(frame);
    },
    onFrame() {},
    health: async () => (state.up ? "ok" : "down"),
    close: async () => {},
  };
  return { bus, state };
}

describe("outbox", () => {
  test("frames published while the bus is down are held, then flushed in order, each promise resolving then", async () => {
    const { bus, state } = flakyBus();
    const outbox = createOutbox(bus, { log: silentLogger, retryMs: 5, maxRetryMs: 20 });
    const done: string[] = [];
    const sent = ["a", "b", "c", "d"].map((f) => outbox.publish(["x"], f).then(() => done.push(f)));
    await Bun.sleep(30);
    expect(outbox.backlog).toBe(4);
    expect(done).toEqual([]);
    state.up = true;
    await Promise.all(sent);
    expect(state.landed).toEqual(["a", "b", "c", "d"]);
    expect(done).toEqual(["a", "b", "c", "d"]);
    expect(outbox.backlog).toBe(0);
    // Once back, a publish goes straight through.
    await outbox.publish(["x"], "e");
    expect(state.landed.at(-1)).toBe("e");
  });

  test("past maxFrames the outbox is full and refuses instead of growing", async () => {
    const { bus } = flakyBus();
    const outbox = createOutbox(bus, { log: silentLogger, maxFrames: 3, retryMs: 5, maxRetryMs: 10 });
    const held = [1, 2, 3].map((i) => outbox.publish("all", String(i)).catch(() => "rejected"));
    await Bun.sleep(20);
    expect(outbox.full).toBe(true);
    await expect(outbox.publish("all", "4")).rejects.toThrow("outbox full");
    await outbox.close(); // the broker never came back: the held frames are rejected, not kept
    expect(await Promise.all(held)).toEqual(["rejected", "rejected", "rejected"]);
  });
});
