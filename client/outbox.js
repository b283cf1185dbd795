// Sending: own messages not acknowledged yet (the outbox, kept per tab) and read receipts (SIGNED)
// not acknowledged yet, each resent on every new connection and every RESEND_AFTER_MS until the
// server acks it (the same clientMsgId: the server stores each once) or refuses it for good.
import { kindOf } from "./format.js";

export const SIGNED = 8;
const RESEND_AFTER_MS = 10_000;
const RESEND_CHECK_MS = 5000;
/** Error codes that refuse a frame for good: the same frame again would be refused again. */
const FINAL_CODES = new Set(["BAD_JSON", "BAD_FRAME", "FORBIDDEN", "NOT_FOUND", "LIMIT_EXCEEDED"]);

/**
 * `send(frame)` sends on the live socket (false when there is none), `live()` tells whether there is
 * one; `store` keeps the outbox. Callbacks: `acked(out, ack)` (a message was stored), `refused(out,
 * err)` (refused for good: it will not be sent), `notify(text)`.
 */
export function createOutbox({ me, store, send, live, acked, refused, notify }) {
  let outbox = store.outbox(); // [{clientMsgId, receiverId, msg, msgType, chatTime, sentAt}]
  const signs = new Map(); // msgId -> when its SIGNED was last sent

  function save(next) {
    outbox = next;
    store.saveOutbox(outbox);
  }

  function sendOut(out) {
    const frame = { chatMsg: { senderId: me, receiverId: out.receiverId, msg: out.msg, msgType: out.msgType, clientMsgId: out.clientMsgId } };
    if (kindOf(out.receiverId) === "group") frame.chatMsg.communicationType = 2;
    if (send(frame)) out.sentAt = Date.now();
  }

  function sendSign(msgId) {
    if (send({ chatMsg: { msgType: SIGNED, msgId, clientMsgId: `sign-${msgId}` } })) signs.set(msgId, Date.now());
  }

  const timer = setInterval(() => {
    if (!live()) return;
    const due = Date.now() - RESEND_AFTER_MS;
    for (const out of outbox) if ((out.sentAt ?? 0) < due) sendOut(out);
    for (const [msgId, at] of signs) if (at < due) sendSign(msgId);
  }, RESEND_CHECK_MS);

  return {
    /** The unsent messages to `receiverId`. */
    to: (receiverId) => outbox.filter((o) => o.receiverId === receiverId),

    /** Queues a message (`{clientMsgId, receiverId, msg, msgType, chatTime}`) and sends it if it can. */
    send(out) {
      save([...outbox, out]);
      sendOut(out);
    },

    /** Signs (read receipt) `msgId` until the server acks it. */
    sign(msgId) {
      signs.set(msgId, 0);
      sendSign(msgId);
    },

    /** The stored copy of an own message came (another tab, the replay) before its ack. */
    stored(clientMsgId) {
      if (clientMsgId && outbox.some((o) => o.clientMsgId === clientMsgId)) save(outbox.filter((o) => o.clientMsgId !== clientMsgId));
    },

    /** A read receipt of mine came back (signed here or in another tab): no need to sign again. */
    signed: (msgId) => signs.delete(msgId),

    /** Drops the unsent messages to `receiverId` (a group this user left); resolves them. */
    drop(receiverId) {
      const dropped = outbox.filter((o) => o.receiverId === receiverId);
      if (dropped.length) save(outbox.filter((o) => o.receiverId !== receiverId));
      return dropped;
    },

    /** A connection went live: everything unacknowledged goes out again. */
    resendAll() {
      for (const out of outbox) sendOut(out);
      for (const msgId of signs.keys()) sendSign(msgId);
    },

    onAck(ack) {
      const id = ack.clientMsgId ?? "";
      if (id.startsWith("sign-")) return void signs.delete(id.slice(5));
      const out = outbox.find((o) => o.clientMsgId === id);
      if (!out) return;
      save(outbox.filter((o) => o !== out));
      acked(out, ack);
    },

    /**
     * An error reply names the frame it answers by clientMsgId: a message refused for good is shown
     * as failed and no longer resent; one refused for now (UNAVAILABLE, RATE_LIMITED) is resent later.
     */
    onError(err) {
      notify(`${err.code}: ${err.message}`);
      const id = err.clientMsgId ?? "";
      const final = FINAL_CODES.has(err.code);
      if (id.startsWith("sign-")) return void (final && signs.delete(id.slice(5)));
      const out = outbox.find((o) => o.clientMsgId === id);
      if (!out || !final) return;
      save(outbox.filter((o) => o !== out));
      refused(out, err);
    },

    stop: () => clearInterval(timer),
  };
}
