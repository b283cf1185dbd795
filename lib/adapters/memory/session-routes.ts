// Standalone session routes: users are online here or nowhere.
import type { SessionRoutes } from "../../core/session-routes.ts";

/** Tracks this instance's connections per user, in memory. */
export function createLocalRoutes(instanceId: string): SessionRoutes {
  const conns = new Map<string, Set<string>>();
  return {
    async add(userId, connId) {
      let set = conns.get(userId);
      if (!set) conns.set(userId, (set = new Set()));
      set.add(connId);
    },
    async remove(userId, connId) {
      const set = conns.get(userId);
      if (set?.delete(connId) && set.size === 0) conns.delete(userId);
    },
    async lookup(userIds) {
      return userIds.some((u) => conns.has(u)) ? [instanceId] : [];
    },
    health: async () => "ok",
    close: async () => {},
  };
}
