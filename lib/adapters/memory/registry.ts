// Standalone registry: the cluster is this one instance.
import { instanceIdOf, type FullMarks, type InstanceDirectory, type ServerNode } from "../../core/directory.ts";
import type { InstanceEvents, OnlineCounts } from "../../core/ports.ts";

/** A registry of one: the directory is this instance with its live count until it drains. */
export function createLocalRegistry(self: { ip: string; port: number }, fullMarks: FullMarks) {
  const node: ServerNode = { ip: self.ip, port: self.port, onlineCounts: 0 };
  let draining = false;
  const counts: OnlineCounts = {
    set(count) {
      node.onlineCounts = Math.max(0, count);
    },
  };
  const directory: InstanceDirectory = {
    nodes: () => (draining ? [] : [{ ...node }]),
    isFull: (instanceId) => fullMarks.has(instanceId),
  };
  // Nobody else ever joins or leaves, and registering happens once.
  const events: InstanceEvents = { onInstanceGone() {}, onRegistered() {} };
  return {
    counts,
    directory,
    events,
    workerId: () => 0,
    instanceId: instanceIdOf(self),
    /** Stops advertising this instance (graceful stop begins). */
    async drain() {
      draining = true;
    },
  };
}
