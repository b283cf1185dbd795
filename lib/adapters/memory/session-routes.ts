// Standalone session routes: users are online here or nowhere.
import type { SessionRoutes } from "../../core/ports.ts";

/** Tracks this instance's connections per user, in memory; nothing is ever lost, so nothing resets. */
export function createLocalRoutes(instanceId: string): SessionRoutes & { has(userId: string): boolean } {
  const conns = new Map<string, Set<string>>();
  let count = 0;
  const add = (userId: string, connId: string) => {
    let set = conns.get(userId);
    if (!set) conns.set(userId, (set = new Set()));
    if (!set.has(connId)) count++;
    set.add(connId);
  };
  return {
    async add(userId, connId) {
      add(userId, connId);
    },
    async remove(userId, connId) {
      const set = conns.get(userId);
      if (!set?.delete(connId)) return;
      count--;
      if (set.size === 0) conns.delete(userId);
    },
    async lookup(userIds) {
      return userIds.some((u) => conns.has(u)) ? [instanceId] : [];
    },
    purgeInstance: async () => 0,
    missedSince: async () => undefined,
    usersOf: async () => [],
    /** True while a connection of `userId` is recorded (synchronous: presence checks it atomically). */
    has: (userId) => conns.has(userId),
    ownCount: async () => count,
    async rebuild(entries) {
      conns.clear();
      count = 0;
      for (const [userId, connId] of entries) add(userId, connId);
    },
    onReset() {},
  };
}
