// Chat messages as they come in (live, replayed, or this user's own from another tab): each one put
// into its conversation (the system's, its group's or the other user's), and the parts that follow
// a conversation's messages told: replay positions, the outbox, typing notes, the list.
import { SYSTEM, kindOf } from "./format.js";

/** The chat msgTypes that carry a message (text, image, video, voice). */
const CHAT_TYPES = [1, 2, 3, 4];

/** The conversation a stored message of user `me` belongs to: the system's, its group's, or the other user's. */
export function convKeyOf(c, me) {
  if (c.senderId === SYSTEM) return SYSTEM; // a broadcast (receiverId "*")
  if (kindOf(c.receiverId) === "group") return c.receiverId;
  if (c.senderId === me) return c.receiverId;
  if (c.receiverId === me) return c.senderId;
  return undefined;
}

/**
 * Takes the chat messages of `router` (frame-router.js) into `loaded` (loaded-conversations.js);
 * `groups`, `replay`, `outbox`, `liveStatus` and `list` are the session's parts, `draw(peer)` redraws.
 */
export function takeIncomingMessages({ me, router, loaded, groups, replay, outbox, liveStatus, list, draw }) {
  /** A chat message, live or replayed. */
  function onChat(c, live) {
    if (c.msgId == null || !c.senderId || !c.receiverId) return;
    const peer = convKeyOf(c, me);
    if (!peer || peer === "*") return;
    if (kindOf(peer) === "group") groups.know(peer); // a group someone else added me to: list it
    const conv = loaded.convOf(peer);
    const { msg, added } = conv.addStored(c);
    replay.note(msg.msgId);
    if (msg.own) outbox.stored(msg.clientMsgId); // stored before we saw its ack
    else liveStatus.messageFrom(peer, c.senderId);
    if (added) list.message(peer, msg, conv.last(), live);
    draw(peer);
  }

  router.onChat(CHAT_TYPES, onChat);
}
