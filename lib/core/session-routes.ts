// Session routes: which instances hold connections of which users, cluster-wide.

export interface SessionRoutes {
  /** Records that this instance holds connection `connId` of `userId`. */
  add(userId: string, connId: string): Promise<void>;
  /** Forgets connection `connId` of `userId` on this instance. */
  remove(userId: string, connId: string): Promise<void>;
  /** Ids of the live instances, this one included, that hold a connection of any of `userIds`. */
  lookup(userIds: readonly string[]): Promise<string[]>;
  /** "ok" or a short reason. */
  health(): Promise<string>;
  close(): Promise<void>;
}
