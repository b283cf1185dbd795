// The registry of live instances: who is in the cluster and how many connections each holds.

/** One instance as advertised in `/<ns>/server-list`: exactly the seed's NettyServerNode. */
export interface ServerNode {
  ip: string;
  port: number;
  onlineCounts: number;
}

/** Identifies an instance on the message bus and in session routes: `<ip>_<port>`. */
export function instanceIdOf(node: { ip: string; port: number }): string {
  return `${node.ip}_${node.port}`;
}

export interface InstanceRegistry {
  /** Snowflake worker id (0..1023), unique among live instances; may change after a re-registration. */
  readonly workerId: number;
  /** Sets this instance's absolute count of CONNECT_INIT'd connections; written coalesced, within 1 s. */
  setOnlineCounts(count: number): void;
  /** Live instances from the watched in-memory view (no remote read), this one included unless draining. */
  nodes(): ServerNode[];
  /** True while the instance is in the view (used to ignore routes of dead instances). */
  isLive(instanceId: string): boolean;
  /** Registers a callback for instances that left the cluster (their znode was deleted). */
  onInstanceGone(listener: (node: ServerNode) => void): void;
  /** Stops advertising this instance everywhere, at once (graceful stop begins). */
  drain(): Promise<void>;
  /** "ok" or a short reason a person can act on. */
  health(): Promise<string>;
  /** Deregisters and releases everything this instance holds. */
  close(): Promise<void>;
}

/**
 * Which instances are full (at their connection cap, refusing new connections), seen by every
 * instance so that getNettyOnlineInfo sends new clients elsewhere. Kept apart from the server-list
 * node, whose data stays exactly the seed's `{ip, port, onlineCounts}`.
 */
export interface FullMarks {
  /** Marks this instance full, or not; applied in the background and after a session is renewed. */
  set(full: boolean): void;
  /** True while `instanceId` is marked full. */
  has(instanceId: string): boolean;
  close(): Promise<void>;
}

/**
 * Picks the instance with the fewest connections among those not full (among all when every one
 * is: a full instance may have room again by the time the client connects); ties are spread at
 * random so that a burst of new clients does not pile onto one instance.
 */
export function leastLoaded(nodes: readonly ServerNode[], isFull: (instanceId: string) => boolean = () => false): ServerNode | undefined {
  const open = nodes.filter((n) => !isFull(instanceIdOf(n)));
  let min = Infinity;
  let ties: ServerNode[] = [];
  for (const node of open.length ? open : nodes) {
    if (node.onlineCounts < min) {
      min = node.onlineCounts;
      ties = [node];
    } else if (node.onlineCounts === min) {
      ties.push(node);
    }
  }
  return ties.length ? ties[Math.floor(Math.random() * ties.length)] : undefined;
}
