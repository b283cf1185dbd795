// The directory of live instances: who is in the cluster, how many connections each holds, which
// are full; and the seed's least-connections choice of where a new client goes.

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

/** The watched view of the cluster (a remote read never happens per request). */
export interface InstanceDirectory {
  /** Live instances, this one included unless draining. */
  nodes(): ServerNode[];
  /** True while `instanceId` is at its connection cap (it refuses new connections). */
  isFull(instanceId: string): boolean;
}

/**
 * Which instances are full, seen by every instance so that getNettyOnlineInfo sends new clients
 * elsewhere. Kept apart from the server-list node, whose data stays exactly the seed's.
 */
export interface FullMarks {
  /** Marks this instance full, or not; applied in the background and after a session is renewed. */
  set(full: boolean): void;
  /** True while `instanceId` is marked full. */
  has(instanceId: string): boolean;
}

/**
 * Picks the instance with the fewest connections among those not full (among all when every one
 * is: a full instance may have room again by the time the client connects); ties are spread at
 * random so that a burst of new clients does not pile onto one instance.
 */
export function leastLoaded(directory: InstanceDirectory): ServerNode | undefined {
  const nodes = directory.nodes();
  const open = nodes.filter((n) => !directory.isFull(instanceIdOf(n)));
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
