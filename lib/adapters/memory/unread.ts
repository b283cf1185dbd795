// Standalone unread counters, in memory, behind the interface the Redis hash implements in a cluster.
import type { UnreadCounters } from "../../core/ports.ts";

export function createMemoryUnread(): UnreadCounters {
  const byReceiver = new Map<string, Map<string, number>>();
  const bump = (receiverId: string, senderId: string) => {
    let counts = byReceiver.get(receiverId);
    if (!counts) byReceiver.set(receiverId, (counts = new Map()));
    counts.set(senderId, (counts.get(senderId) ?? 0) + 1);
  };
  return {
    async increment({ receiverId, senderId }) {
      bump(receiverId, senderId);
    },
    async incrementMany(receiverIds, senderId) {
      for (const receiverId of receiverIds) bump(receiverId, senderId);
    },
    async get(receiverId) {
      return Object.fromEntries(byReceiver.get(receiverId) ?? []);
    },
    async clear(receiverId, senderId) {
      byReceiver.get(receiverId)?.set(senderId, 0);
    },
    async uncount(receiverIds, senderId) {
      for (const receiverId of receiverIds) {
        const counts = byReceiver.get(receiverId);
        const n = counts?.get(senderId);
        if (counts && n) counts.set(senderId, n - 1);
      }
    },
    async set(receiverId, senderId, count) {
      bump(receiverId, senderId);
      byReceiver.get(receiverId)!.set(senderId, count);
    },
  };
}
