// Standalone bus: there is no other instance to hand envelopes to.
import type { MessageBus } from "../../core/ports.ts";

/** A bus with no peers: every publish is accepted and goes nowhere, as no other instance exists. */
export function createLocalBus(): MessageBus {
  return {
    publish: async () => {},
    onEnvelope() {},
    acceptsMore: true,
  };
}
