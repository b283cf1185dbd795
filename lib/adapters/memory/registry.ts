// Standalone registry: the cluster is this one instance.
import type { InstanceRegistry, ServerNode } from "../../core/registry.ts";
import { instanceIdOf } from "../../core/registry.ts";

/** A registry of one: `nodes()` is this instance with its live count until it drains. */
export function createLocalRegistry(self: { ip: string; port: number }): InstanceRegistry {
  const node: ServerNode = { ip: self.ip, port: self.port, onlineCounts: 0 };
  const id = instanceIdOf(self);
  let draining = false;
  return {
    workerId: 0,
    setOnlineCounts(count) {
      node.onlineCounts = Math.max(0, count);
    },
    nodes: () => (draining ? [] : [{ ...node }]),
    isLive: (instanceId) => !draining && instanceId === id,
    onInstanceGone() {},
    async drain() {
      draining = true;
    },
    health: async () => "ok",
    async close() {
      draining = true;
    },
  };
}
