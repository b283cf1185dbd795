// Read receipts (SIGNED, msgType 8): this user signs the peer messages it sees; a receipt for an own
// message marks it read (two ticks); a sign from this user's other tab marks a peer message read.
// In a group the receipt names users, not the group, and the server keeps no read state for group
// messages: the ones known read are kept in localStorage.
import { kindOf } from "./format.js";

/**
 * `find(msgId)` resolves `{peer, conv, m}` where a message is loaded; `sign(msgId)` sends a receipt
 * until acked, `signed(msgId)` says one of mine came back; `draw(peer)` redraws.
 */
export function createReceipts({ me, store, find, sign, signed, draw }) {
  /** msgIds read before their message is known here; group ones persist (the server keeps none). */
  const readBefore = new Set(store.groupReads());
  let toSave = [];

  return {
    /** Shared with every Conversation: applied when the message is loaded. */
    readBefore,

    /** A read receipt: `{msgId, senderId: signer, receiverId: the message's sender}`. */
    onSigned(c) {
      if (!c.msgId) return;
      const msgId = String(c.msgId);
      if (c.senderId === me) signed(msgId); // signed here or in another tab of mine
      else if (c.receiverId !== me || !c.senderId) return; // else: someone read my message
      const found = find(msgId);
      if (!found) return void readBefore.add(msgId);
      found.conv.markRead(msgId);
      if (found.conv.kind === "group") toSave.push(msgId);
      draw(found.peer);
    },

    /** This user saw peer message `m` of `peer` on screen: sign it. */
    seen(peer, m) {
      if (m.own || m.isRead || !m.msgId) return false;
      m.isRead = true;
      if (kindOf(peer) === "group") toSave.push(m.msgId);
      sign(m.msgId);
      return true;
    },

    /** Saves the group receipts of the last burst (once per redraw). */
    save() {
      if (toSave.length) store.addGroupReads(toSave);
      toSave = [];
    },
  };
}
