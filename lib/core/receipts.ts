// Read receipts: the one rule of who may sign a message read, for WebSocket SIGNED and HTTP signRead.
import { ErrorCode, MsgType, encodeDataContent, formatFrameTime, type ChatMsg } from "../protocol/frames.ts";
import { MSG_ID_RULE, isGroupId, isMsgId } from "../protocol/ids.ts";
import type { Delivery } from "./delivery.ts";
import type { GroupStore, MessageStore, StoredMsg } from "./ports.ts";
import { refuse } from "./refusal.ts";
import { pairOf } from "./send.ts";

export interface ReceiptDeps {
  store: MessageStore;
  groups: GroupStore;
  delivery: Delivery;
}

export type Receipts = ReturnType<typeof createReceipts>;

export function createReceipts(deps: ReceiptDeps) {
  /** The receiver may sign; in a group every member but the sender (isRead then means "some member read it"). */
  async function maySign(original: StoredMsg, signer: string): Promise<boolean> {
    if (!isGroupId(original.receiverId)) return original.receiverId === signer;
    return original.senderId !== signer && (await deps.groups.members(original.receiverId)).includes(signer);
  }

  return {
    /**
     * Marks `msgId` read by `signer` and tells the original sender's connections
     * `{"chatMsg":{"msgType":8,"msgId","senderId":<signer>,"receiverId":<sender>}}` (not `exceptConn`).
     * `signer` undefined (HTTP without authentication) trusts the caller as the receiver.
     * Throws a Refusal: BAD_FRAME, NOT_FOUND, FORBIDDEN, UNAVAILABLE.
     */
    async sign(msgId: string | null | undefined, signer: string | undefined, exceptConn?: string): Promise<void> {
      if (!isMsgId(msgId)) return refuse(ErrorCode.BAD_FRAME, `chatMsg.msgId: the id of the message to sign is required, ${MSG_ID_RULE}`);
      let original: StoredMsg | undefined;
      let allowed = false;
      try {
        original = await deps.store.get(msgId);
        allowed = !!original && (signer === undefined || (await maySign(original, signer)));
        if (allowed) await deps.store.markRead(msgId);
      } catch {
        return refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: sign the message again later");
      }
      if (!original) return refuse(ErrorCode.NOT_FOUND, `no message ${msgId}`);
      if (!allowed) return refuse(ErrorCode.FORBIDDEN, "only the receiver of a message (a member, for a group) may sign it");
      const notice = { msgType: MsgType.SIGNED, msgId, senderId: signer ?? original.receiverId, receiverId: original.senderId } as ChatMsg;
      const frame = encodeDataContent({ chatMsg: notice, chatTime: formatFrameTime(new Date()), extend: exceptConn ?? null });
      await deps.delivery.route({ audience: pairOf({ receiverId: original.senderId, senderId: notice.senderId! }), frame, except: exceptConn }, msgId);
    },
  };
}
