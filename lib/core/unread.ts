// Unread counters per (receiver, sender): the seed lineage's `chat_msg_list:<receiverId>` hash.

export interface UnreadCounters {
  /** Counts one more unread message from `msg.senderId` for `msg.receiverId` (called once the message is stored). */
  increment(msg: { senderId: string; receiverId: string }): Promise<void>;
  /** Counts one more unread message from `senderId` (a group id for group messages) for each receiver. */
  incrementMany(receiverIds: readonly string[], senderId: string): Promise<void>;
  /** `{senderId: count}` for one receiver. */
  get(receiverId: string): Promise<Record<string, number>>;
  /** Resets one counter to 0 (the sender stays listed with 0, as in the seed lineage). */
  clear(receiverId: string, senderId: string): Promise<void>;
  close(): Promise<void>;
}
