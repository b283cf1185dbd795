// The ports of the cluster rules (lib/core/membership.ts): the count the registry shows, the
// registry's events, and this instance's port in the port book. Re-exported by ports.ts.

/** This instance's count of CONNECT_INIT'd connections as the cluster sees it. */
export interface OnlineCounts {
  /** Sets the absolute count; written coalesced, within 1 s. */
  set(count: number): void;
}

/** The registry's events the cluster rules react to. */
export interface InstanceEvents {
  /** An instance left the cluster (its registration vanished). */
  onInstanceGone(listener: (instance: { instanceId: string; port: number }) => void): void;
  /**
   * This instance was registered (again, after a lost session: others may have purged its routes
   * and routed its users' messages nowhere). `lostSince`: when it lost sight of the registry before
   * this registration (its clock, ms); undefined for the first one.
   */
  onRegistered(listener: (again: { lostSince?: number }) => void): void;
  /** This instance lost sight of the registry (disconnected, or its session expired): the others may soon stop routing to it. */
  onLost?(listener: () => void): void;
}

/** This instance's port in the cluster's port book (the seed's `netty_port` hash). */
export interface PortLease {
  readonly port: number;
  /** Records this instance's port again (the book lost it). */
  renew(): Promise<void>;
  /** True while the book holds this instance's port. */
  isHeld(): Promise<boolean>;
  /** Frees the port of an instance that left the cluster. */
  releaseOther(port: number): Promise<void>;
  /** Lets go of the port bound since it was leased, for the server to bind it in the same turn. */
  unhold?(): void;
}
