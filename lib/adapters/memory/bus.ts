// Standalone bus: there is no other instance to hand frames to.
import type { MessageBus } from "../../core/bus.ts";

/** A bus with no peers: every publish is accepted and goes nowhere, as no other instance exists. */
export function createLocalBus(): MessageBus {
  return {
    publish: async () => {},
    onFrame() {},
    health: async () => "ok",
    close: async () => {},
  };
}
