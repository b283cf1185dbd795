// Standalone presence: in memory, behind the interface the Redis hash implements in a cluster.
import type { PresenceStore } from "../../core/ports.ts";

/**
 * `hasRoutes` answers synchronously whether a connection of the user is recorded, so that a check
 * and its transition happen in one turn of the event loop (no reconnect can slip in between).
 * Last-seen times last as long as the process (a restart forgets them).
 */
export function createMemoryPresence(hasRoutes: (userId: string) => boolean): PresenceStore {
  const state = new Map<string, { online: boolean; at: number }>();
  // Every watcher is on this instance: the core delivers to them; no other instance to tell.
  const changed = { changed: true, watchers: [] };
  const unchanged = { changed: false, watchers: [] };
  return {
    async markOnline(userId, at) {
      if (state.get(userId)?.online) return unchanged;
      state.set(userId, { online: true, at });
      return changed;
    },
    async markOfflineIfGone(userId, at) {
      if (hasRoutes(userId) || state.get(userId)?.online === false) return unchanged;
      state.set(userId, { online: false, at });
      return changed;
    },
    async watch() {},
    async query(userIds) {
      return userIds.map((userId) => {
        const s = state.get(userId);
        return { userId, online: s?.online ?? false, lastSeen: s && !s.online ? s.at : null };
      });
    },
  };
}
