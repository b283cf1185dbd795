// Unread counters per (receiver, sender): the seed lineage's `chat_msg_list:<receiverId>` hash.

export interface UnreadCounters {
  increment(receiverId: string, senderId: string): Promise<void>;
  /** `{senderId: count}` for one receiver. */
  get(receiverId: string): Promise<Record<string, number>>;
  clear(receiverId: string, senderId: string): Promise<void>;
  close(): Promise<void>;
}
