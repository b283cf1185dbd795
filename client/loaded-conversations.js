// The conversations loaded in this page, by key (a user id, a group id or "system"): each one made on
// first use with the user's unsent messages to it, and a loaded message found and changed by msgId.
import { Conversation } from "./conversation.js";

/**
 * `readBefore()` is the set of msgIds known read before their message is (receipts.js), shared by
 * every conversation; `pendingTo(peer)` lists the unsent messages to `peer` (outbox.js);
 * `lastChanged(peer, m)` is told that a conversation's newest message changed; `draw(peer)` redraws.
 */
export function createLoadedConversations({ me, readBefore, pendingTo, lastChanged, draw }) {
  const convs = new Map();

  /** `peer`'s conversation, made (with the unsent messages to it) if it is not loaded yet. */
  function convOf(peer) {
    let conv = convs.get(peer);
    if (!conv) {
      convs.set(peer, (conv = new Conversation(me, peer, readBefore())));
      for (const out of pendingTo(peer)) conv.addPending(out);
    }
    return conv;
  }

  /** Where message `msgId` is loaded: `{peer, conv, m}`, or undefined. */
  function findMessage(msgId) {
    for (const [peer, conv] of convs) {
      const m = conv.byMsgId.get(String(msgId));
      if (m) return { peer, conv, m };
    }
    return undefined;
  }

  /**
   * Changes loaded message `msgId` with `change(m, conv)` (an edit, a recall, a receipt, a delete for me: `conv.remove(m)`) and
   * redraws it: the view updates a message element whose `rev` changed. False when the message is not loaded.
   */
  function updateMessage(msgId, change) {
    const found = findMessage(msgId);
    if (!found) return false;
    const wasLast = found.conv.last() === found.m;
    change(found.m, found.conv);
    found.m.rev = (found.m.rev ?? 0) + 1;
    if (wasLast) lastChanged(found.peer, found.conv.last()); // its preview changed, or (a delete) the one before it shows
    draw(found.peer);
    return true;
  }

  return {
    convOf,
    findMessage,
    updateMessage,
    /** Drops loaded message `msgId` (deleted for this user) and redraws its conversation. */
    removeMessage: (msgId) => updateMessage(msgId, (m, conv) => conv.remove(m)),
    /** `peer`'s conversation if it is loaded (none is made). */
    get: (peer) => convs.get(peer),
    has: (peer) => convs.has(peer),
    /** The keys of the loaded conversations. */
    keys: () => convs.keys(),
  };
}
