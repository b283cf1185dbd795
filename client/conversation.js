// One conversation's messages, merged from history, replay, live frames and own sends; deduped by msgId.
import { compareIds, kindOf } from "./format.js";
import { recalled } from "./message-edits.js";

const MEDIA_FIELDS = ["videoPath", "videoWidth", "videoHeight", "videoTimes", "voicePath", "speakVoiceDuration"];

/**
 * A message as the view shows it. `key` is stable for the message's lifetime (a pending message keeps
 * its key when the ack gives it a msgId). Own messages have `status`: "pending" (not acknowledged),
 * "sent" (stored: one tick), "read" (the peer, or for a group any member, signed it: two ticks) or
 * "failed" (will not be sent). Peer messages have `isRead` (this user signed it). `peer` is a user id,
 * a group id or "system" (the broadcasts: never signed, so they count as read).
 */
export class Conversation {
  /** `readBeforeKnown`: msgIds known to be read before their message is; may be shared by conversations. */
  constructor(me, peer, readBeforeKnown = new Set()) {
    this.me = me;
    this.peer = peer;
    /** "user" | "group" | "system" */
    this.kind = kindOf(peer);
    /** History paging: the next page to load ("load older") and whether there is one. */
    this.nextPage = 1;
    this.hasOlder = false;
    /** "none" | "loading" | "loaded" | "failed" */
    this.history = "none";
    this.all = new Map();
    this.byMsgId = new Map();
    this.byClientId = new Map();
    this.readBeforeKnown = readBeforeKnown;
    this.seq = 0;
  }

  /** Adds a stored message (history row, replay, live frame, own copy from another tab); `added` is false for a duplicate. */
  addStored(c) {
    const msgId = String(c.msgId);
    const own = c.senderId === this.me;
    const known = this.byMsgId.get(msgId) ?? (own && c.clientMsgId ? this.byClientId.get(c.clientMsgId) : undefined);
    if (known) {
      if (!known.msgId) this.#stored(known, msgId, c.chatTime);
      if (c.isRead) this.#read(known);
      this.#changed(known, c);
      return { msg: known, added: false };
    }
    const m = {
      key: `m${msgId}`,
      msgId,
      own,
      senderId: c.senderId,
      receiverId: c.receiverId,
      msgType: c.msgType,
      msg: c.msg ?? "",
      chatTime: c.chatTime ?? "",
      clientMsgId: c.clientMsgId ?? undefined,
      status: own ? "sent" : undefined,
      isRead: false,
      seq: this.seq++,
    };
    for (const f of MEDIA_FIELDS) if (c[f] != null) m[f] = c[f];
    if (c.recalled) m.recalled = true;
    else if (c.edited) m.edited = true;
    this.all.set(m.key, m);
    this.byMsgId.set(msgId, m);
    if (own && m.clientMsgId) this.byClientId.set(m.clientMsgId, m);
    if (c.isRead || this.readBeforeKnown.delete(msgId) || this.kind === "system") this.#read(m);
    return { msg: m, added: true };
  }

  /** Adds an own message not acknowledged yet (`{clientMsgId, msg, msgType, chatTime}`). */
  addPending(out) {
    const existing = this.byClientId.get(out.clientMsgId);
    if (existing) return existing;
    const m = {
      key: `c${out.clientMsgId}`,
      msgId: undefined,
      own: true,
      senderId: this.me,
      receiverId: this.peer,
      msgType: out.msgType,
      msg: out.msg,
      chatTime: out.chatTime,
      clientMsgId: out.clientMsgId,
      status: "pending",
      isRead: false,
      seq: this.seq++,
    };
    this.all.set(m.key, m);
    this.byClientId.set(m.clientMsgId, m);
    return m;
  }

  /** Applies an ack `{clientMsgId, msgId, chatTime}`; returns the message or undefined when not ours. */
  acked(ack) {
    const m = this.byClientId.get(ack.clientMsgId);
    if (!m || !ack.msgId) return undefined;
    if (!m.msgId) this.#stored(m, String(ack.msgId), ack.chatTime);
    return m;
  }

  /** A read receipt (own message) or a sign from this user's other tab (peer message). */
  markRead(msgId) {
    const m = this.byMsgId.get(String(msgId));
    if (!m) this.readBeforeKnown.add(String(msgId));
    else this.#read(m);
    return m;
  }

  /** An own message that will not be sent (the server refused it, or this user left the group): no longer pending. */
  failed(clientMsgId, reason = "you are not a member") {
    const m = this.byClientId.get(clientMsgId);
    if (m && m.status === "pending") {
      m.status = "failed";
      m.failReason = reason;
    }
    return m;
  }

  /** Messages in display order: stored ones by msgId, then unacknowledged ones in the order sent. */
  messages() {
    return [...this.all.values()].sort((a, b) => {
      if (a.msgId && b.msgId) return compareIds(a.msgId, b.msgId);
      if (a.msgId) return -1;
      if (b.msgId) return 1;
      return a.seq - b.seq;
    });
  }

  /** The newest message, for the conversation list. */
  last() {
    const list = this.messages();
    return list[list.length - 1];
  }

  /** Drops a message (deleted for this user). */
  remove(m) {
    this.all.delete(m.key);
    if (m.msgId) this.byMsgId.delete(m.msgId);
    if (m.clientMsgId) this.byClientId.delete(m.clientMsgId);
  }

  /** A stored copy (history, replay) says the message was recalled or edited since it was loaded. */
  #changed(m, c) {
    if (c.recalled && !m.recalled) {
      recalled(m);
    } else if (c.edited && !m.recalled && c.msg != null && c.msg !== m.msg) {
      m.msg = c.msg;
      m.edited = true;
    } else return;
    m.rev = (m.rev ?? 0) + 1;
  }

  #stored(m, msgId, chatTime) {
    m.msgId = msgId;
    if (chatTime) m.chatTime = chatTime;
    if (m.status === "pending") m.status = "sent";
    this.byMsgId.set(msgId, m);
    if (this.readBeforeKnown.delete(msgId)) this.#read(m);
  }

  #read(m) {
    if (m.own) m.status = "read";
    else m.isRead = true;
  }
}
