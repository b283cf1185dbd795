// What the adapters of one instance give the composition (lib/instance.ts): the core's ports, the
// directory and health checks for the transports, and the steps of starting and stopping.
import type { FullMarks, InstanceDirectory } from "../core/directory.ts";
import type {
  GroupReads, GroupStore, InstanceEvents, MessageBus, MessageStore, OnlineCounts, PortLease, PresenceStore, SessionRoutes, UnreadCounters,
} from "../core/ports.ts";
import type { Logger } from "../log.ts";

export interface Adapters {
  /** This instance as clients reach it, and its id `<ip>_<port>`. */
  self: { ip: string; port: number };
  instanceId: string;
  /** The logger with the instance id on every line. */
  log: Logger;
  counts: OnlineCounts;
  events: InstanceEvents;
  lease: PortLease;
  routes: SessionRoutes;
  bus: MessageBus;
  store: MessageStore;
  groups: GroupStore;
  /** Group members' read positions (the group tables' store). */
  reads: GroupReads;
  unread: UnreadCounters;
  presence: PresenceStore;
  /** Users a previous process on this ip:port had routed (its routes were just removed): checked for presence at start. */
  orphanedUsers?: readonly string[];
  directory: InstanceDirectory;
  fullMarks: FullMarks;
  /** The snowflake worker id now (0..1023). */
  workerId(): number;
  /** Named health checks for /health: each answers "ok" or a reason. */
  checks: Record<string, () => Promise<string>>;
  /** Advertises this instance to the cluster; called once it listens. */
  advertise(): Promise<void>;
  /** Stops advertising it, at once (a graceful stop begins). */
  drain(): Promise<void>;
  /** Closes everything in reverse order of creation. */
  close(): Promise<void>;
}

/** One step of closing: a name for the log and the work. */
export type CloseStep = readonly [name: string, step: () => unknown];

/** Runs `steps` in order, logging (not throwing) each failure, so one stuck dependency does not block the rest. */
export async function closeInOrder(log: Logger, steps: readonly CloseStep[]): Promise<void> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (err) {
      log.warn("close.failed", { component: name, err });
    }
  }
}
