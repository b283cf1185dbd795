// One signed-in user's chat: conversations (with users, groups, and the system's broadcasts), unsent
// messages, unread counts, read receipts, groups, and the connection that carries them. The UI
// (app.js) gives it a `ui` to draw on and calls its methods.
import { createApi } from "./api.js";
import { createConnection } from "./connection.js";
import { Conversation } from "./conversation.js";
import { createLiveStatus } from "./live-status.js";
import { SYSTEM, formatChatTime, kindOf, maxId, previewOf, randomId } from "./format.js";
import { userStore } from "./storage.js";
import { createUnreadBadges } from "./unread-badges.js";

const CHAT_TYPES = new Set([1, 2, 3, 4]);
const SIGNED = 8;
const PAGE_SIZE = 20;
const RESEND_AFTER_MS = 10_000;
/** Error codes that refuse a frame for good: the same frame again would be refused again. */
const FINAL_CODES = new Set(["BAD_JSON", "BAD_FRAME", "FORBIDDEN", "NOT_FOUND", "LIMIT_EXCEEDED"]);
const LIVE_CLEAR_DELAY_MS = 1500;
const DRAW_BATCH_MS = 16;

/**
 * Starts the chat of user `me`. `ui` draws: `conversation(conv, opts)`, `peers(list, unread, openPeer,
 * describe)`, `connection(state)`, `notify(text)`, and tells `visibleKeys()` (unread peer messages on
 * screen). Conversation keys are user ids, group ids (`group:<digits>`) and "system".
 */
export function createChatSession({ me, token = "", ui: target }) {
  let stopped = false;
  // A signed-out session may still finish a request: it must not draw over the next one.
  const ui = {
    conversation: (conv, opts) => stopped || target.conversation(conv, opts),
    peers: (list, counts, open) => stopped || target.peers(list, counts, open, describe),
    connection: (s) => stopped || target.connection(s),
    notify: (text) => stopped || target.notify(text),
    visibleKeys: () => (stopped ? [] : target.visibleKeys()),
  };
  const store = userStore(me);
  const api = createApi({ token });
  const convs = new Map();
  const signs = new Map(); // msgId -> when the SIGNED was last sent
  let peers = store.peers();
  if (!peers.some((p) => p.id === SYSTEM)) peers.push({ id: SYSTEM, preview: "", when: "" }); // always listed
  /** groupId -> `{groupId, name, ownerId, members?, left?, addedAt?}` */
  const groups = new Map(store.groups().map((g) => [g.groupId, g]));
  /** msgIds read before their message is known here; group ones persist (the server keeps none). */
  const readBefore = new Set(store.groupReads());
  let groupReadsToSave = [];
  const groupsTried = new Set(); // ids still unknown after a refresh: not asked about again
  let groupsLoading;
  let groupsAgain = false;
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
      convs.set(peer, (conv = new Conversation(me, peer, readBefore)));
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
      if (groupReadsToSave.length) store.addGroupReads(groupReadsToSave);
      groupReadsToSave = [];
    }, DRAW_BATCH_MS);
  }

  function noteId(id) {
    if (!id || maxId(lastMsgId, id) === lastMsgId) return;
    lastMsgId = id;
    store.saveLastMsgId(id);
  }

  /** The list's one-line preview of a message: in a group, with who wrote it. */
  function previewLine(peer, m) {
    if (kindOf(peer) !== "group") return previewOf(m);
    return `${m.own ? "You" : m.senderId}: ${previewOf(m)}`;
  }

  /** Keeps `peer` in the recent list with its newest message; `bump` moves it to the top. */
  function touchPeer(peer, bump) {
    const last = convs.get(peer)?.last();
    const i = peers.findIndex((p) => p.id === peer);
    const entry = { id: peer, preview: last ? previewLine(peer, last) : peers[i]?.preview ?? "", when: last?.chatTime ?? peers[i]?.when ?? "" };
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
    if (kindOf(out.receiverId) === "group") frame.chatMsg.communicationType = 2;
    if (conn.send(frame)) out.sentAt = Date.now();
  }

  function sendSign(msgId) {
    if (conn.send({ chatMsg: { msgType: SIGNED, msgId, clientMsgId: `sign-${msgId}` } })) signs.set(msgId, Date.now());
  }

  /** The conversation a stored message belongs to: the system's, its group's, or the other user's. */
  function convKeyOf(c) {
    if (c.senderId === SYSTEM) return SYSTEM; // a broadcast (receiverId "*")
    if (kindOf(c.receiverId) === "group") return c.receiverId;
    if (c.senderId === me) return c.receiverId;
    if (c.receiverId === me) return c.senderId;
    return undefined;
  }

  function onFrame(frame, live) {
    const c = frame.chatMsg;
    if (c.msgType === SIGNED) return onSigned(c);
    if (!CHAT_TYPES.has(c.msgType) || c.msgId == null || !c.senderId || !c.receiverId) return;
    const peer = convKeyOf(c);
    if (!peer || peer === "*") return;
    if (kindOf(peer) === "group") knowGroup(peer); // a group someone else added me to: list it
    const { msg, added } = convOf(peer).addStored(c);
    noteId(msg.msgId);
    if (msg.own && msg.clientMsgId && outbox.some((o) => o.clientMsgId === msg.clientMsgId)) {
      saveOutbox(outbox.filter((o) => o.clientMsgId !== msg.clientMsgId)); // stored before we saw its ack
    }
    if (!msg.own) liveStatus.messageFrom(peer, c.senderId);
    if (added) {
      touchPeer(peer, true);
      // Replayed messages (before the CONNECT_INIT ack) are in the server's counts fetched after it.
      if (!msg.own && viewing(peer)) badges.clear(peer, LIVE_CLEAR_DELAY_MS);
      else if (!msg.own && live) badges.add(peer, msg.msgId);
    }
    draw(peer);
  }

  /** A read receipt: `{msgId, senderId: signer, receiverId: the message's sender}`. */
  function onSigned(c) {
    if (!c.msgId) return;
    const msgId = String(c.msgId);
    if (c.senderId === me) signs.delete(msgId); // signed here or in another tab of mine
    else if (c.receiverId !== me || !c.senderId) return; // else: someone read my message
    // In a group the receipt names users, not the group: find the message where it is.
    for (const [peer, conv] of convs) {
      if (!conv.byMsgId.has(msgId)) continue;
      conv.markRead(msgId);
      if (conv.kind === "group") rememberGroupRead(msgId);
      return draw(peer);
    }
    readBefore.add(msgId); // applied when the message is loaded
  }

  function rememberGroupRead(msgId) {
    groupReadsToSave.push(msgId);
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

  /**
   * An error reply names the frame it answers by clientMsgId: a message refused for good is shown
   * as failed and no longer resent; one refused for now (UNAVAILABLE, RATE_LIMITED) is resent later.
   */
  function onError(err) {
    ui.notify(`${err.code}: ${err.message}`);
    const id = err.clientMsgId ?? "";
    const final = FINAL_CODES.has(err.code);
    if (id.startsWith("sign-")) return void (final && signs.delete(id.slice(5)));
    const out = outbox.find((o) => o.clientMsgId === id);
    if (!out || !final) return;
    saveOutbox(outbox.filter((o) => o !== out));
    convOf(out.receiverId).failed(out.clientMsgId, err.message);
    if (err.code === "FORBIDDEN" && kindOf(out.receiverId) === "group") void refreshGroups(); // removed from the group?
    draw(out.receiverId);
  }

  async function refreshUnread() {
    for (const peer of await badges.refresh()) {
      if (kindOf(peer) === "group") knowGroup(peer);
      if (!peers.some((p) => p.id === peer)) touchPeer(peer, true);
    }
    draw(undefined);
  }

  /** Lists the user's groups again; a new one joins the conversation list, a missing one is left. */
  function refreshGroups() {
    if (groupsLoading) {
      groupsAgain = true;
      return groupsLoading;
    }
    const startedAt = Date.now();
    groupsLoading = (async () => {
      try {
        const list = await api.groups(me);
        if (stopped) return;
        const listed = new Set();
        for (const g of list ?? []) {
          listed.add(g.groupId);
          groups.set(g.groupId, { ...groups.get(g.groupId), groupId: g.groupId, name: g.name, ownerId: g.ownerId, left: false });
          if (!peers.some((p) => p.id === g.groupId)) touchPeer(g.groupId, true);
        }
        for (const [id, g] of groups) if (!listed.has(id) && !g.left && !((g.addedAt ?? 0) > startedAt)) leftGroup(id);
        for (const peer of peers) if (kindOf(peer.id) === "group" && !groups.has(peer.id)) groupsTried.add(peer.id);
        for (const id of convs.keys()) if (kindOf(id) === "group" && !groups.has(id)) groupsTried.add(id);
        saveGroups();
        if (openPeer) draw(openPeer);
        else draw(undefined);
      } catch (err) {
        console.warn("the group list could not be loaded:", err.message);
      }
    })().finally(() => {
      groupsLoading = undefined;
      if (groupsAgain) {
        groupsAgain = false;
        void refreshGroups();
      }
    });
    return groupsLoading;
  }

  /** A group id seen in a message, a count or a saved conversation: list the groups if it is new. */
  function knowGroup(id) {
    if (groups.has(id) || groupsTried.has(id)) return;
    groupsTried.add(id);
    void refreshGroups();
  }

  function saveGroups() {
    store.saveGroups([...groups.values()].map(({ addedAt, ...g }) => g));
  }

  /** This user is no longer a member: its unsent messages will not be sent. */
  function leftGroup(id) {
    const g = groups.get(id);
    if (g) g.left = true;
    const dropped = outbox.filter((o) => o.receiverId === id);
    if (!dropped.length) return;
    saveOutbox(outbox.filter((o) => o.receiverId !== id));
    for (const o of dropped) convOf(id).failed(o.clientMsgId);
    draw(id);
  }

  /** Applies a group as the server returned it (`{groupId, name, ownerId, members}`). */
  function tookGroup(g, extra = {}) {
    const known = groups.get(g.groupId);
    const members = Array.isArray(g.members) ? g.members : known?.members;
    groups.set(g.groupId, { ...known, ...extra, groupId: g.groupId, name: g.name, ownerId: g.ownerId, members, left: members ? !members.includes(me) : !!known?.left });
    if (members && !members.includes(me)) leftGroup(g.groupId);
    saveGroups();
    draw(g.groupId);
    return groups.get(g.groupId);
  }

  async function loadMembers(id) {
    try {
      tookGroup(await api.groupMembers(id));
    } catch (err) {
      if (err.status === 403 || err.status === 404) leftGroup(id);
      else console.warn("the group's members could not be loaded:", err.message);
      draw(id);
    }
  }

  /** Name and kind of a conversation for the list and the header. */
  function describe(id) {
    const kind = kindOf(id);
    if (kind === "system") return { kind, name: "System", subtitle: "Announcements to everyone" };
    if (kind === "user") return { kind, name: id, subtitle: liveStatus.status(id) };
    const g = groups.get(id);
    const members = g?.members;
    const others = members?.filter((u) => u !== me);
    const subtitle = g?.left ? "You are not a member of this group"
      : others ? [...others.slice(0, 12), ...(members.includes(me) ? ["You"] : [])].join(", ") + (others.length > 12 ? ` and ${others.length - 12} more` : "")
      : "Group";
    return { kind, name: g?.name || "Group", subtitle: liveStatus.status(id) ?? subtitle, group: g, isOwner: g?.ownerId === me, left: !!g?.left };
  }

  function onLive(ack) {
    lives++;
    liveStatus.onLive();
    // A replay cut at REPLAY_MAX (or one the store could not answer) does not hold everything missed.
    const partial = ack?.recovered === false;
    if (partial) ui.notify("Some messages from while you were away were not replayed: they are in each conversation's history.");
    void refreshUnread();
    void refreshGroups();
    for (const out of outbox) sendOut(out); // same clientMsgId: the server stores each once
    for (const msgId of signs.keys()) sendSign(msgId);
    const conv = openPeer && convs.get(openPeer);
    // After a reconnect page 1 brings read receipts given while this client was away.
    if (conv && (lives > 1 || partial || conv.history === "failed")) void loadNewest(openPeer);
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
    onError,
    onLive,
    onFeature: (f) => liveStatus.onFrame(f),
  });
  const liveStatus = createLiveStatus({ me, send: (frame) => conn.send(frame), changed: (key) => key === openPeer && draw(key) });

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
    /** Opens the conversation with `peer` (a user, group or "system"): shows what is known, clears its unread count, loads page 1. */
    open(peer) {
      openPeer = peer;
      store.saveOpenPeer(peer);
      liveStatus.watch(peer);
      const conv = convOf(peer);
      if (!peers.some((p) => p.id === peer)) touchPeer(peer, true);
      badges.clear(peer);
      ui.conversation(conv, { toEnd: true });
      ui.peers(peers, unread, openPeer);
      void loadNewest(peer);
      if (conv.kind === "group") {
        knowGroup(peer);
        void loadMembers(peer);
      }
    },
    /** Name, kind and (for a group) members line, owner flag and membership of a conversation. */
    describe,
    /** Creates a group of `me` and `members` (user ids) and opens it; resolves the group, rejects with an ApiError. */
    async createGroup(name, members) {
      const g = tookGroup(await api.createGroup(me, name, members.filter((u) => u !== me)), { addedAt: Date.now() });
      touchPeer(g.groupId, true);
      session.open(g.groupId);
      return g;
    },
    /** Reloads a group's members (for the members view). */
    reloadMembers: (groupId) => loadMembers(groupId),
    /** Adds (`"add"`) or removes (`"remove"`) members of a group (its owner only); rejects with an ApiError. */
    async changeMembers(groupId, action, userIds) {
      tookGroup(await api.changeMembers(groupId, action, userIds));
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
    /** The user is typing in the open conversation (others see a note). */
    typed: () => openPeer && liveStatus.typed(openPeer),
    /** Sends a message to the open conversation; it shows at once and is resent until acknowledged. */
    send(text, msgType = 1) {
      liveStatus.sent();
      if (!openPeer || !text || kindOf(openPeer) === "system") return;
      if (groups.get(openPeer)?.left) return ui.notify("You are not a member of this group any more.");
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
      if (kindOf(openPeer) === "group") rememberGroupRead(m.msgId);
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
