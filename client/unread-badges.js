// Unread badges per peer: the server's counters (getMyUnReadCounts) plus live counting, cleared on the
// server (clearMyUnReadCounts) when a conversation is opened or receives messages while on screen.
// A group's count is under its group id. The server does not count system broadcasts: their badge
// is live counting only.
import { SYSTEM } from "./format.js";

/** Creates the badges of user `me`; `viewing(peer)` tells whether that conversation is on screen. */
export function createUnreadBadges({ me, api, viewing }) {
  const counts = new Map();
  const counted = new Set();
  const timers = new Map();

  return {
    /** Peer → number of unread messages. */
    counts,

    /** Counts one live message (once per msgId). */
    add(peer, msgId) {
      if (counted.has(msgId)) return;
      counted.add(msgId);
      counts.set(peer, (counts.get(peer) ?? 0) + 1);
    },

    /**
     * Clears a peer's badge now and its server counter after `delayMs` (after live messages: the
     * server counts them asynchronously, through a queue in cluster mode; repeated calls debounce).
     */
    clear(peer, delayMs = 0) {
      counts.delete(peer);
      clearTimeout(timers.get(peer));
      if (peer === SYSTEM) return;
      const timer = setTimeout(() => {
        timers.delete(peer);
        api.clearUnread(me, peer).catch((err) => console.warn("clearMyUnReadCounts failed:", err.message));
      }, delayMs);
      timers.set(peer, timer);
    },

    /** Takes the server's counts (after a (re)connect); resolves the peers with unread messages. */
    async refresh() {
      let server;
      try {
        server = (await api.unreadCounts(me)) ?? {};
      } catch (err) {
        console.warn("getMyUnReadCounts failed:", err.message);
        return [];
      }
      for (const peer of [...counts.keys()]) if (!(peer in server) && peer !== SYSTEM) counts.delete(peer);
      const unread = [];
      for (const [peer, n] of Object.entries(server)) {
        if (n > 0 && viewing(peer)) this.clear(peer);
        else if (n > 0) counts.set(peer, n);
        else counts.delete(peer);
        if (n > 0) unread.push(peer);
      }
      return unread;
    },

    stop() {
      for (const t of timers.values()) clearTimeout(t);
    },
  };
}
