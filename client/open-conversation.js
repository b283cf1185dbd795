// The conversation on screen: which one it is (kept per user across reloads), opening it, sending to
// it, paging its history, and signing the peer messages the user sees in it while the page is visible.
import { formatChatTime, kindOf, randomId } from "./format.js";

/**
 * Drives the session's parts: `ui` draws (see chat-session.js), `draw(peer, opts)` redraws soon (or,
 * with `opts`, the open one now); `loaded` (loaded-conversations.js), `list`, `replay`, `groups`,
 * `groupReads`, `outbox`, `receipts` and `liveStatus` are the session's modules; `store` keeps the open peer.
 */
export function createOpenConversation({ store, ui, draw, loaded, list, replay, groups, groupReads, outbox, receipts, liveStatus }) {
  let openPeer;

  /** The view saw a peer message (by key) on screen: sign it (read receipt) when the page is visible. */
  function seen(key) {
    const m = openPeer && loaded.get(openPeer)?.all.get(key);
    if (!m || document.visibilityState !== "visible") return;
    if (receipts.seen(openPeer, m)) draw(openPeer);
  }

  const onVisibility = () => {
    if (document.visibilityState !== "visible" || !openPeer) return;
    for (const key of ui.visibleKeys()) seen(key);
    if (list.counts.get(openPeer)) list.clear(openPeer);
    draw(openPeer);
  };
  document.addEventListener("visibilitychange", onVisibility);

  return {
    /** The peer of the open conversation, if any. */
    get peer() {
      return openPeer;
    },
    /** Whether `peer`'s conversation is open and the page visible. */
    viewing: (peer) => peer === openPeer && document.visibilityState === "visible",
    /** Opens the conversation with `peer` (a user, group or "system"): shows what is known, clears its unread count, loads page 1. */
    open(peer) {
      openPeer = peer;
      store.saveOpenPeer(peer);
      liveStatus.watch(peer);
      const conv = loaded.convOf(peer);
      if (!list.has(peer)) list.touch(peer, conv.last(), true);
      list.clear(peer);
      ui.conversation(conv, { toEnd: true });
      ui.peers();
      void replay.loadNewest(conv);
      if (conv.kind === "group") {
        groups.know(peer);
        void groups.loadMembers(peer);
        void groupReads.refresh(peer);
      }
    },
    /** Loads the next older page of the open conversation. */
    loadOlder: () => openPeer && loaded.has(openPeer) && replay.loadOlder(loaded.get(openPeer)),
    /** The user is typing in the open conversation (others see a note). */
    typed: () => openPeer && liveStatus.typed(openPeer),
    /** Sends a message to the open conversation; it shows at once and is resent until acknowledged. */
    send(text, msgType = 1) {
      liveStatus.sent();
      if (!openPeer || !text || kindOf(openPeer) === "system") return;
      if (groups.get(openPeer)?.left) return ui.notify("You are not a member of this group any more.");
      const out = { clientMsgId: randomId(), receiverId: openPeer, msg: text, msgType, chatTime: formatChatTime(new Date()), sentAt: 0 };
      const m = loaded.convOf(openPeer).addPending(out);
      outbox.send(out);
      list.touch(openPeer, m, true);
      draw(openPeer, { toEnd: true });
    },
    seen,
    /** The message of the open conversation with view key `key`, if any. */
    messageAt: (key) => (openPeer ? loaded.get(openPeer)?.all.get(key) : undefined),
    /** Loads page 1 of the open conversation again (after a failure). */
    retryHistory: () => openPeer && void replay.loadNewest(loaded.convOf(openPeer)),
    /** Stops following the page's visibility. */
    stop() {
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };
}
