// The message store: every chat message, for history, replay and read receipts.
import type { ChatMsg } from "../protocol/frames.ts";

/** A message as stored: `msgId`, `senderId`, `receiverId`, `msgType`, `chatTime` always set. */
export type StoredMsg = ChatMsg & { msgId: string; senderId: string; receiverId: string; msgType: number; chatTime: string };

/**
 * The store refused this one message's data (a value it cannot hold); the rest of its batch was
 * stored. The sender gets BAD_FRAME with the reason; resending the same data cannot succeed.
 */
export class StoreRefusedError extends Error {
  override name = "StoreRefusedError";
}

export interface SaveResult {
  msgId: string;
  chatTime: string;
  /** True when (senderId, clientMsgId) was stored before: the result names the first message. */
  duplicate: boolean;
}

export interface MessageStore {
  /**
   * Persists one message; resolves once it is durable (writes are batched internally). Rejects
   * with StoreRefusedError when this message's data cannot be stored, with another error when the
   * store is unavailable.
   */
  save(msg: StoredMsg): Promise<SaveResult>;
  /**
   * Both directions between two users, page 1 newest; rows oldest first within the page. With a
   * group id as `userB`, every message to the group; with "system", the broadcasts `userA` got.
   */
  history(userA: string, userB: string, page: number, pageSize: number): Promise<{ records: number; rows: StoredMsg[] }>;
  /**
   * Messages to or from `userId` — and to any of `alsoTo` (the user's groups, everyone) from
   * others — with an id larger than `afterMsgId`, oldest first, at most `limit`.
   */
  after(userId: string, afterMsgId: string, limit: number, alsoTo?: readonly string[]): Promise<StoredMsg[]>;
  get(msgId: string): Promise<StoredMsg | undefined>;
  /** Marks a message read; false when no such message. */
  markRead(msgId: string): Promise<boolean>;
  /** "ok" or a short reason. */
  health(): Promise<string>;
  /** Finishes pending writes, then closes. */
  close(): Promise<void>;
}
