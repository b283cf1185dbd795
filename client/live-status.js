// Presence and typing for the open conversation (the server's "presence" and "typing" features,
// declared at CONNECT_INIT): whether the peer is online or when it was last seen, and who is typing.
import { kindOf } from "./format.js";

/** A typing note shows this long unless another one or a message comes. */
const TYPING_SHOWN_MS = 5000;
/** While the user types, a note goes out at most this often. */
const TYPING_EVERY_MS = 3000;

/**
 * `send(frame)` sends on the live socket (false when there is none); `changed(conversationKey)`
 * redraws a conversation whose status line changed.
 */
export function createLiveStatus({ me, send, changed }) {
  const presence = new Map(); // userId -> {online, lastSeen}
  const typing = new Map(); // conversation key -> Map(userId -> timer)
  let watched; // the user whose presence this connection watches
  let lastTyped = 0;

  const subscribe = (userId) => userId && send({ presence: { subscribe: [userId] } });

  function stopTyping(key, userId) {
    const who = typing.get(key);
    if (!who?.has(userId)) return;
    clearTimeout(who.get(userId));
    who.delete(userId);
    changed(key);
  }

  return {
    /** A new connection went live: it watches nothing yet. */
    onLive() {
      subscribe(watched);
    },

    /** Watches `peer`'s presence instead of the previous one (users only). */
    watch(peer) {
      const next = kindOf(peer) === "user" && peer !== me ? peer : undefined;
      if (next === watched) return;
      if (watched) send({ presence: { unsubscribe: [watched] } });
      watched = next;
      subscribe(watched);
    },

    /** A presence or typing frame from the server. */
    onFrame(f) {
      if (f.presence) {
        presence.set(f.presence.userId, { online: f.presence.online, lastSeen: f.presence.lastSeen });
        changed(f.presence.userId);
      } else if (f.typing) {
        const { senderId, receiverId, stop } = f.typing;
        const key = receiverId === me ? senderId : receiverId;
        if (stop) return stopTyping(key, senderId);
        let who = typing.get(key);
        if (!who) typing.set(key, (who = new Map()));
        clearTimeout(who.get(senderId));
        who.set(senderId, setTimeout(() => stopTyping(key, senderId), TYPING_SHOWN_MS));
        changed(key);
      }
    },

    /** A message from `userId` in `key` arrived: it is not typing any more. */
    messageFrom: (key, userId) => stopTyping(key, userId),

    /** The user typed in the conversation `key`: tells the others, at most every few seconds. */
    typed(key) {
      if (kindOf(key) === "system" || Date.now() - lastTyped < TYPING_EVERY_MS) return;
      if (send({ typing: { receiverId: key } })) lastTyped = Date.now();
    },

    /** The user sent a message (its note ends with it on the other side). */
    sent() {
      lastTyped = 0;
    },

    /** The status line of conversation `key`: who is typing, else the peer's presence; undefined when unknown. */
    status(key) {
      const who = [...(typing.get(key)?.keys() ?? [])];
      if (who.length) return kindOf(key) === "user" ? "typing…" : `${who.join(", ")} ${who.length > 1 ? "are" : "is"} typing…`;
      const p = kindOf(key) === "user" ? presence.get(key) : undefined;
      if (!p) return undefined;
      if (p.online) return "online";
      return p.lastSeen ? `last seen ${new Date(p.lastSeen).toLocaleString()}` : "offline";
    },
  };
}
