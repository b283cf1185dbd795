// Recall, edit and delete for me: the requests this device sends (frames of the "edit" feature),
// their acks and refusals, and the frames that tell it what happened to a message elsewhere (the
// peer's recall or edit, this user's delete on another device). The server sends those frames
// only to connections that declared "edit"; their replay arrives after the message rows.

const EPOCH_MS = 1577836800000n;
/** The server's default EDIT_WINDOW_MS; the CONNECT_INIT ack names the one in force. */
const DEFAULT_WINDOW_MS = 120_000;
const MEDIA_FIELDS = ["videoPath", "voicePath"];

/** When message `msgId` was sent (ms), from its snowflake id. */
export function sentAt(msgId) {
  try {
    return Number((BigInt(msgId) >> 22n) + EPOCH_MS);
  } catch {
    return 0;
  }
}

/** A message as a recall leaves it: no content, marked recalled. */
export function recalled(m) {
  m.recalled = true;
  m.edited = false;
  m.msg = "";
  for (const f of MEDIA_FIELDS) delete m[f];
}

/**
 * Creates the part of the session: `router` (frame-router.js) gets the event frames; `send(frame)`
 * and `live()` are the connection's; `updateMessage(msgId, change)` and `removeMessage(msgId)`
 * change a loaded message and redraw it; `notify(text)` tells the user.
 */
export function createMessageEdits({ router, send, live, updateMessage, removeMessage, notify, now = Date.now }) {
  let windowMs = DEFAULT_WINDOW_MS;
  const asked = new Map(); // clientMsgId -> the request, until its ack or refusal

  const apply = {
    recall: (msgId) => updateMessage(msgId, recalled),
    edit: (msgId, text) =>
      updateMessage(msgId, (m) => {
        if (m.recalled) return;
        m.msg = text;
        m.edited = true;
      }),
    delete: (msgId) => removeMessage(msgId),
  };
  router.onFeature("recall", (e) => apply.recall(e.msgId), "edit");
  router.onFeature("edit", (e) => apply.edit(e.msgId, e.msg), "edit");
  router.onFeature("delete", (e) => apply.delete(e.msgId), "edit");

  function request(kind, msgId, msg) {
    if (!live()) {
      notify("Not connected: try again once the connection is back.");
      return false;
    }
    const clientMsgId = `edit-${crypto.randomUUID()}`;
    asked.set(clientMsgId, { kind, msgId, msg });
    send({ [kind]: msg === undefined ? { msgId, clientMsgId } : { msgId, msg, clientMsgId } });
    return true;
  }

  /** True when own stored message `m` may still be recalled (within the server's window). */
  const canRecall = (m) => !!(m.own && m.msgId && !m.recalled && now() - sentAt(m.msgId) <= windowMs);

  return {
    canRecall,
    /** True when `m` may still be edited: recallable, and text. */
    canEdit: (m) => canRecall(m) && m.msgType === 1,
    /** Any stored message may be deleted for this user. */
    canDelete: (m) => !!m.msgId,
    recall: (m) => request("recall", m.msgId),
    /** Sends `text` as `m`'s new text (nothing when empty or unchanged). */
    edit(m, text) {
      const t = (text ?? "").trim();
      if (!t || t === m.msg) return false;
      return request("edit", m.msgId, t);
    },
    deleteForMe: (m) => request("delete", m.msgId),
    /** The CONNECT_INIT ack: the window in force. */
    onInit(ack) {
      if (Number.isFinite(ack?.editWindowMs)) windowMs = ack.editWindowMs;
    },
    /** An ack; true when it answered one of these requests (this device applies it: it gets no frame of its own). */
    onAck(ack) {
      const req = asked.get(ack.clientMsgId);
      if (!req) return false;
      asked.delete(ack.clientMsgId);
      apply[req.kind](req.msgId, req.msg);
      return true;
    },
    /** A refusal; true when it answered one of these requests (told to the user with the server's reason). */
    onError(err) {
      const req = asked.get(err.clientMsgId);
      if (!req) return false;
      asked.delete(err.clientMsgId);
      notify(`Could not ${req.kind === "delete" ? "delete" : req.kind} the message: ${err.message}`);
      return true;
    },
  };
}
