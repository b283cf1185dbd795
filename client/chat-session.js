// One signed-in user's chat: conversations, unsent messages, unread counts, read receipts, and the
// connection that carries them. The UI (app.js) gives it a `ui` to draw on and calls its methods.
import { createApi } from "./api.js";
import { createConnection } from "./connection.js";
import { Conversation } from "./conversation.js";
import { formatChatTime, maxId, previewOf, randomId } from "./format.js";
import { userStore } from "./storage.js";
import { createUnreadBadges } from "./unread-badges.js";

const CHAT_TYPES = new Set([1, 2, 3, 4]);
const SIGNED = 8;
const PAGE_SIZE = 20;
const RESEND_AFTER_MS = 10_000;
const LIVE_CLEAR_DELAY_MS = 1500;
const DRAW_BATCH_MS = 16;

/**
 * Starts the chat of user `me`. `ui` draws: `conversation(conv, opts)`, `peers(list, unread, openPeer)`,
 * `connection(state)`, `notify(text)`, and tells `visibleKeys()` (unread peer messages on screen).
 */
export function createChatSession({ me, token = "", ui: target }) {
  let stopped = false;
  // A signed-out session may still finish a request: it must not draw over the next one.
  const ui = {
    conversation: (conv, opts) => stopped || target.conversation(conv, opts),
    peers: (list, counts, open) => stopped || target.peers(list, counts, open),
    connection: (s) => stopped || target.connection(s),
    notify: (text) => stopped || target.notify(text),
    visibleKeys: () => (stopped ? [] : target.visibleKeys()),
  };
  const store = userStore(me);
  const api = createApi({ token });
  const convs = new Map();
  const signs = new Map(); // msgId -> when the SIGNED was last sent
  let peers = store.peers();
  let outbox = store.outbox();
  let lastMsgId = store.lastMsgId();
  let openPeer;
  let lives = 0;
  const dirty = new Set();
  let drawQueued = false;
  let peersChanged = false;

  const viewing = (peer) => peer === openPeer && document.visibilityState === "visible";
  const badges = createUnreadBadges({ me, api, viewing });
  const unread = badges.counts;

  function convOf(peer) {
    let conv = convs.get(peer);
    if (!conv) {
      convs.set(peer, (conv = new Conversation(me, peer)));
      for (const out of outbox) if (out.receiverId === peer) conv.addPending(out);
    }
    return conv;
  }

  /** Redraws (and saves the recent peers) once per burst of changes, e.g. a replay; `opts` draws now. */
  function draw(peer, opts) {
    if (opts && peer === openPeer) ui.conversation(convOf(peer), opts);
    else if (peer) dirty.add(peer);
    if (drawQueued) return;
    drawQueued = true;
    setTimeout(() => {
      drawQueued = false;
      if (openPeer && dirty.has(openPeer)) ui.conversation(convOf(openPeer), {});
      dirty.clear();
      ui.peers(peers, unread, openPeer);
      if (peersChanged) store.savePeers(peers);
      peersChanged = false;
    }, DRAW_BATCH_MS);
  }

  function noteId(id) {
    if (!id || maxId(lastMsgId, id) === lastMsgId) return;
    lastMsgId = id;
    store.saveLastMsgId(id);
  }

  /** Keeps `peer` in the recent list with its newest message; `bump` moves it to the top. */
  function touchPeer(peer, bump) {
    const last = convs.get(peer)?.last();
    const i = peers.findIndex((p) => p.id === peer);
    const entry = { id: peer, preview: last ? previewOf(last) : peers[i]?.preview ?? "", when: last?.chatTime ?? peers[i]?.when ?? "" };
    if (i >= 0 && !bump) peers[i] = entry;
    else peers = [entry, ...peers.filter((p) => p.id !== peer)];
    peersChanged = true;
  }

  function saveOutbox(next) {
    outbox = next;
    store.saveOutbox(outbox);
  }

  function sendOut(out) {
    const frame = { chatMsg: { senderId: me, receiverId: out.receiverId, msg: out.msg, msgType: out.msgType, clientMsgId: out.clientMsgId } };
    if (conn.send(frame)) out.sentAt = Date.now();
  }

  function sendSign(msgId) {
    if (conn.send({ chatMsg: { msgType: SIGNED, msgId, clientMsgId: `sign-${msgId}` } })) signs.set(msgId, Date.now());
  }

  function onFrame(frame, live) {
    const c = frame.chatMsg;
    if (c.msgType === SIGNED) return onSigned(c);
    if (!CHAT_TYPES.has(c.msgType) || c.msgId == null || !c.senderId || !c.receiverId) return;
    if (c.senderId !== me && c.receiverId !== me) return;
    const peer = c.senderId === me ? c.receiverId : c.senderId;
    const { msg, added } = convOf(peer).addStored(c);
    noteId(msg.msgId);
    if (msg.own && msg.clientMsgId && outbox.some((o) => o.clientMsgId === msg.clientMsgId)) {
      saveOutbox(outbox.filter((o) => o.clientMsgId !== msg.clientMsgId)); // stored before we saw its ack
    }
    if (added) {
      touchPeer(peer, true);
      // Replayed messages (before the CONNECT_INIT ack) are in the server's counts fetched after it.
      if (!msg.own && viewing(peer)) badges.clear(peer, LIVE_CLEAR_DELAY_MS);
      else if (!msg.own && live) badges.add(peer, msg.msgId);
    }
    draw(peer);
  }

  function onSigned(c) {
    if (!c.msgId) return;
    const msgId = String(c.msgId);
    if (c.senderId === me) {
      signs.delete(msgId); // signed here or in another tab of mine
      convOf(c.receiverId).markRead(msgId);
      draw(c.receiverId);
    } else if (c.receiverId === me && c.senderId) {
      convOf(c.senderId).markRead(msgId); // the peer read my message
      draw(c.senderId);
    }
  }

  function onAck(ack) {
    const id = ack.clientMsgId ?? "";
    if (id.startsWith("sign-")) return void signs.delete(id.slice(5));
    const out = outbox.find((o) => o.clientMsgId === id);
    if (!out) return;
    saveOutbox(outbox.filter((o) => o !== out));
    const m = convOf(out.receiverId).acked(ack);
    if (m) noteId(m.msgId);
    touchPeer(out.receiverId, false);
    draw(out.receiverId);
  }

  async function refreshUnread() {
    for (const peer of await badges.refresh()) if (!peers.some((p) => p.id === peer)) touchPeer(peer, true);
    draw(undefined);
  }

  function onLive() {
    lives++;
    void refreshUnread();
    for (const out of outbox) sendOut(out); // same clientMsgId: the server stores each once
    for (const msgId of signs.keys()) sendSign(msgId);
    const conv = openPeer && convs.get(openPeer);
    // After a reconnect page 1 brings read receipts given while this client was away.
    if (conv && (lives > 1 || conv.history === "failed")) void loadNewest(openPeer);
  }

  function merge(conv, rows) {
    for (const row of rows ?? []) conv.addStored(row);
    if (!lastMsgId && rows?.length) noteId(String(rows[rows.length - 1].msgId));
  }

  async function loadNewest(peer) {
    const conv = convOf(peer);
    if (conv.history !== "loaded") conv.history = "loading";
    draw(peer);
    try {
      const data = await api.history(me, peer, 1, PAGE_SIZE);
      merge(conv, data.rows);
      if (conv.nextPage === 1) {
        conv.nextPage = 2;
        conv.hasOlder = data.total > 1;
      }
      conv.history = "loaded";
      touchPeer(peer, false);
    } catch (err) {
      if (conv.history !== "loaded") conv.history = "failed";
      conv.historyError = err.message;
    }
    draw(peer);
  }

  const conn = createConnection({
    userId: me,
    token,
    api,
    lastMsgId: () => lastMsgId,
    onState: (s) => ui.connection(s),
    onFrame,
    onAck,
    onError: (err) => ui.notify(`${err.code}: ${err.message}`),
    onLive,
  });

  const resendTimer = setInterval(() => {
    if (!conn.live) return;
    const due = Date.now() - RESEND_AFTER_MS;
    for (const out of outbox) if ((out.sentAt ?? 0) < due) sendOut(out);
    for (const [msgId, at] of signs) if (at < due) sendSign(msgId);
  }, 5000);

  const onVisibility = () => {
    if (document.visibilityState !== "visible" || !openPeer) return;
    for (const key of ui.visibleKeys()) session.seen(key);
    if (unread.get(openPeer)) badges.clear(openPeer);
    draw(openPeer);
  };
  document.addEventListener("visibilitychange", onVisibility);

  const session = {
    me,
    /** Opens the conversation with `peer`: shows what is known, clears its unread count, loads page 1. */
    open(peer) {
      openPeer = peer;
      store.saveOpenPeer(peer);
      const conv = convOf(peer);
      if (!peers.some((p) => p.id === peer)) touchPeer(peer, true);
      badges.clear(peer);
      ui.conversation(conv, { toEnd: true });
      ui.peers(peers, unread, openPeer);
      void loadNewest(peer);
    },
    /** The peer of the open conversation, if any. */
    get openPeer() {
      return openPeer;
    },
    /** Loads the next older page of the open conversation. */
    async loadOlder() {
      const peer = openPeer;
      const conv = peer && convs.get(peer);
      if (!conv || conv.loadingOlder || !conv.hasOlder) return;
      conv.loadingOlder = true;
      draw(peer);
      try {
        const data = await api.history(me, peer, conv.nextPage, PAGE_SIZE);
        merge(conv, data.rows);
        conv.nextPage++;
        conv.hasOlder = conv.nextPage <= data.total;
      } catch (err) {
        ui.notify(`Older messages could not be loaded: ${err.message}`);
      } finally {
        conv.loadingOlder = false;
      }
      draw(peer, { anchorOlder: true });
    },
    /** Sends a message to the open conversation; it shows at once and is resent until acknowledged. */
    send(text, msgType = 1) {
      if (!openPeer || !text) return;
      const out = { clientMsgId: randomId(), receiverId: openPeer, msg: text, msgType, chatTime: formatChatTime(new Date()), sentAt: 0 };
      saveOutbox([...outbox, out]);
      convOf(openPeer).addPending(out);
      touchPeer(openPeer, true);
      sendOut(out);
      draw(openPeer, { toEnd: true });
    },
    /** The view saw a peer message (by key) on screen: sign it (read receipt) when the page is visible. */
    seen(key) {
      const m = openPeer && convs.get(openPeer)?.all.get(key);
      if (!m || m.own || m.isRead || !m.msgId || document.visibilityState !== "visible") return;
      m.isRead = true;
      signs.set(m.msgId, 0);
      sendSign(m.msgId);
      draw(openPeer);
    },
    /** Loads page 1 of the open conversation again (after a failure). */
    retryHistory: () => openPeer && void loadNewest(openPeer),
    /** Reconnects now instead of waiting for the backoff. */
    retryNow: () => conn.retryNow(),
    stop() {
      stopped = true;
      conn.stop();
      clearInterval(resendTimer);
      badges.stop();
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };

  ui.peers(peers, unread, openPeer);
  conn.start();
  return session;
}
