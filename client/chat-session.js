// One signed-in user's chat: it composes the parts and gives the UI (app.js) its methods.
// - connection.js: the socket (instance choice, CONNECT_INIT, reconnects)
// - frame-router.js: where each incoming frame goes, by kind (see `router.on…` below)
// - outbox.js: sending, and resending what is not acknowledged yet
// - replay.js: what CONNECT_INIT asks to replay; history pages merged into conversations
// - receipts.js: read receipts; groups.js: the user's groups; live-status.js: presence and typing
// - group-reads.js: who read the user's group messages; marking a viewed group read
// - message-edits.js: recall, edit and delete for me (edit-menu.js draws them)
// - conversation-list.js: the list with last message and unread counts (unread-badges.js)
// - conversation.js: one conversation's messages, by msgId; message-view.js draws the open one
import { createApi } from "./api.js";
import { createConnection } from "./connection.js";
import { createConversationList } from "./conversation-list.js";
import { Conversation } from "./conversation.js";
import { createFrameRouter } from "./frame-router.js";
import { SYSTEM, formatChatTime, kindOf, randomId } from "./format.js";
import { createGroupReads } from "./group-reads.js";
import { createGroups } from "./groups.js";
import { createLiveStatus } from "./live-status.js";
import { createMessageEdits } from "./message-edits.js";
import { SIGNED, createOutbox } from "./outbox.js";
import { createReceipts } from "./receipts.js";
import { createReplay } from "./replay.js";
import { userStore } from "./storage.js";

const CHAT_TYPES = [1, 2, 3, 4];
const DRAW_BATCH_MS = 16;
const GAP_REPLAY_MS = 3000;

/**
 * Starts the chat of user `me`. `ui` draws: `conversation(conv, opts)`, `peers(list, unread, openPeer,
 * describe, paging)`, `connection(state)`, `notify(text)`, and tells `visibleKeys()` (unread peer
 * messages on screen). Conversation keys are user ids, group ids (`group:<digits>`) and "system".
 */
export function createChatSession({ me, token = "", ui: target }) {
  let stopped = false;
  // A signed-out session may still finish a request: it must not draw over the next one.
  const ui = {
    conversation: (conv, opts) => stopped || target.conversation(conv, opts),
    peers: () => stopped || target.peers(list.entries(), list.counts, openPeer, describe, list.paging()),
    connection: (s) => stopped || target.connection(s),
    notify: (text) => stopped || target.notify(text),
    visibleKeys: () => (stopped ? [] : target.visibleKeys()),
  };
  const store = userStore(me);
  const api = createApi({ token });
  const convs = new Map();
  let openPeer;
  let lives = 0;

  // Drawing: changes are redrawn (and saved) once per burst, e.g. a replay.
  const dirty = new Set();
  let drawQueued = false;

  /** Redraws `peer`'s conversation (if open) and the list soon; `opts` draws the open one now. */
  function draw(peer, opts) {
    if (opts && peer === openPeer) ui.conversation(convOf(peer), opts);
    else if (peer) dirty.add(peer);
    if (drawQueued) return;
    drawQueued = true;
    setTimeout(() => {
      drawQueued = false;
      if (openPeer && dirty.has(openPeer)) ui.conversation(convOf(openPeer), {});
      if (openPeer && viewing(openPeer) && !groups.get(openPeer)?.left) groupReads.viewed(convOf(openPeer));
      dirty.clear();
      ui.peers();
      list.save();
      receipts.save();
    }, DRAW_BATCH_MS);
  }

  const viewing = (peer) => peer === openPeer && document.visibilityState === "visible";
  const replay = createReplay({
    me, api, store,
    loaded: (conv) => list.touch(conv.peer, conv.last(), false),
    draw,
    notify: (text) => ui.notify(text),
  });
  const list = createConversationList({
    me, api, store, viewing,
    row: (r) => r.type === 2 && groups.named(r.conversationId, r.name),
    changed: () => draw(undefined),
  });
  const outbox = createOutbox({
    me, store,
    send: (frame) => conn.send(frame),
    live: () => conn.live,
    acked(out, ack) {
      const m = convOf(out.receiverId).acked(ack);
      if (m) replay.note(m.msgId);
      list.touch(out.receiverId, convOf(out.receiverId).last(), false);
      draw(out.receiverId);
    },
    refused(out, err) {
      convOf(out.receiverId).failed(out.clientMsgId, err.message);
      if (err.code === "FORBIDDEN" && kindOf(out.receiverId) === "group") void groups.refresh(); // removed from the group?
      draw(out.receiverId);
    },
    notify: (text) => ui.notify(text),
  });
  const groups = createGroups({
    me, api, store,
    stopped: () => stopped,
    listed: (id) => list.has(id),
    // A group the list does not show yet: placed by its newest message if one is loaded, else last
    // (not "as of now": the list's own page, perhaps still on its way, places it by its message).
    touch(id) {
      const last = convs.get(id)?.last();
      list.touch(id, last, !!last);
    },
    keys: () => [...list.entries().map((p) => p.id), ...convs.keys()],
    left(id) {
      const dropped = outbox.drop(id); // this user's unsent messages to it will not be sent
      for (const o of dropped) convOf(id).failed(o.clientMsgId);
      if (dropped.length) draw(id);
    },
    draw: (id) => draw(id ?? openPeer),
  });
  const groupReads = createGroupReads({
    me, send: (frame) => conn.send(frame), readState: (id, n) => api.readState(me, id, n), messagesOf: (id) => convs.get(id)?.all.values() ?? [], draw,
  });
  const receipts = createReceipts({ me, store, find: findMessage, sign: (id) => outbox.sign(id), signed: (id) => outbox.signed(id), draw });

  function convOf(peer) {
    let conv = convs.get(peer);
    if (!conv) {
      convs.set(peer, (conv = new Conversation(me, peer, receipts.readBefore)));
      for (const out of outbox.to(peer)) conv.addPending(out);
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
    if (wasLast) list.touch(found.peer, found.conv.last(), false); // its preview changed, or (a delete) the one before it shows
    draw(found.peer);
    return true;
  }
  /** Drops loaded message `msgId` (deleted for this user) and redraws its conversation. */
  const removeMessage = (msgId) => updateMessage(msgId, (m, conv) => conv.remove(m));

  /** The conversation a stored message belongs to: the system's, its group's, or the other user's. */
  function convKeyOf(c) {
    if (c.senderId === SYSTEM) return SYSTEM; // a broadcast (receiverId "*")
    if (kindOf(c.receiverId) === "group") return c.receiverId;
    if (c.senderId === me) return c.receiverId;
    if (c.receiverId === me) return c.senderId;
    return undefined;
  }

  /** A chat message, live or replayed. */
  function onChat(c, live) {
    if (c.msgId == null || !c.senderId || !c.receiverId) return;
    const peer = convKeyOf(c);
    if (!peer || peer === "*") return;
    if (kindOf(peer) === "group") groups.know(peer); // a group someone else added me to: list it
    const { msg, added } = convOf(peer).addStored(c);
    replay.note(msg.msgId);
    if (msg.own) outbox.stored(msg.clientMsgId); // stored before we saw its ack
    else liveStatus.messageFrom(peer, c.senderId);
    if (added) list.message(peer, msg, convOf(peer).last(), live);
    draw(peer);
  }

  // Incoming frames by kind: a new kind is one line here (or in its module, given `router`).
  const router = createFrameRouter();
  router.onChat(CHAT_TYPES, onChat);
  router.onChat([SIGNED], (c) => receipts.onSigned(c));
  router.onFeature("presence", (_, f) => liveStatus.onFrame(f));
  router.onFeature("typing", (_, f) => liveStatus.onFrame(f));
  router.onFeature("read", (read) => groupReads.onReceipt(read), "reads");
  const edits = createMessageEdits({
    router, send: (frame) => conn.send(frame), live: () => conn.live, updateMessage, removeMessage, notify: (text) => ui.notify(text),
  });

  function onLive(ack) {
    lives++;
    replay.started(ack?.seqs);
    liveStatus.onLive();
    groupReads.onLive(openPeer);
    edits.onInit(ack);
    // A replay cut at REPLAY_MAX (or one the store could not answer) does not hold everything missed.
    const partial = ack?.recovered === false;
    if (partial) ui.notify("Some messages from while you were away were not replayed: they are in each conversation's history.");
    void list.reload().then((unread) => unread.forEach((id) => kindOf(id) === "group" && groups.know(id)));
    void groups.refresh();
    outbox.resendAll();
    const conv = openPeer && convs.get(openPeer);
    // After a reconnect page 1 brings read receipts given while this client was away.
    if (conv && (lives > 1 || partial || conv.history === "failed")) void replay.loadNewest(convOf(openPeer));
  }

  /** Name and kind of a conversation for the list and the header. */
  function describe(id) {
    const kind = kindOf(id);
    if (kind === "system") return { kind, name: "System", subtitle: "Announcements to everyone" };
    if (kind === "user") return { kind, name: id, subtitle: liveStatus.status(id) };
    const g = groups.get(id);
    return { kind, name: g?.name || "Group", subtitle: liveStatus.status(id) ?? groups.subtitle(id), group: g, isOwner: g?.ownerId === me, left: !!g?.left };
  }

  const conn = createConnection({
    userId: me,
    token,
    api,
    lastMsgId: () => replay.after(),
    seqs: () => replay.seqs(),
    features: () => [...router.features(), "seq"],
    onState: (s) => ui.connection(s),
    onFrame(f, live) {
      if (f.seq) replay.noteSeq(f.seq); // beside chatMsg, or alone: a place with nothing for this client
      router.route(f, live);
    },
    onAck(ack) {
      replay.noteSeq(ack.seq); // a message's or a recall's, edit's or delete's own positions
      return edits.onAck(ack) || outbox.onAck(ack);
    },
    onError: (err) => edits.onError(err) || outbox.onError(err),
    onLive,
  });
  const liveStatus = createLiveStatus({ me, send: (frame) => conn.send(frame), changed: (key) => key === openPeer && draw(key) });

  // A gap in a timeline open this long is a frame routed nowhere, not frames overtaking each other: replay.
  const gapWatch = setInterval(() => replay.gapAge() > GAP_REPLAY_MS && conn.replayNow("a gap in a timeline stayed open"), 1000);

  const onVisibility = () => {
    if (document.visibilityState !== "visible" || !openPeer) return;
    for (const key of ui.visibleKeys()) session.seen(key);
    if (list.counts.get(openPeer)) list.clear(openPeer);
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
    /** Name, kind and (for a group) members line, owner flag and membership of a conversation. */
    describe,
    /** Creates a group of `me` and `members` (user ids) and opens it; resolves the group, rejects with an ApiError. */
    async createGroup(name, members) {
      const g = groups.took(await api.createGroup(me, name, members.filter((u) => u !== me)), { addedAt: Date.now() });
      list.touch(g.groupId, undefined, true);
      session.open(g.groupId);
      return g;
    },
    /** Reloads a group's members (for the members view). */
    reloadMembers: (groupId) => groups.loadMembers(groupId),
    /** Adds (`"add"`) or removes (`"remove"`) members of a group (its owner only); rejects with an ApiError. */
    async changeMembers(groupId, action, userIds) {
      groups.took(await api.changeMembers(groupId, action, userIds));
    },
    /** The peer of the open conversation, if any. */
    get openPeer() {
      return openPeer;
    },
    /** Loads the next older page of the conversation list. */
    moreConversations: () => list.more(),
    /** Loads the next older page of the open conversation. */
    loadOlder: () => openPeer && convs.has(openPeer) && replay.loadOlder(convs.get(openPeer)),
    /** The user is typing in the open conversation (others see a note). */
    typed: () => openPeer && liveStatus.typed(openPeer),
    /** Sends a message to the open conversation; it shows at once and is resent until acknowledged. */
    send(text, msgType = 1) {
      liveStatus.sent();
      if (!openPeer || !text || kindOf(openPeer) === "system") return;
      if (groups.get(openPeer)?.left) return ui.notify("You are not a member of this group any more.");
      const out = { clientMsgId: randomId(), receiverId: openPeer, msg: text, msgType, chatTime: formatChatTime(new Date()), sentAt: 0 };
      const m = convOf(openPeer).addPending(out);
      outbox.send(out);
      list.touch(openPeer, m, true);
      draw(openPeer, { toEnd: true });
    },
    /** The view saw a peer message (by key) on screen: sign it (read receipt) when the page is visible. */
    seen(key) {
      const m = openPeer && convs.get(openPeer)?.all.get(key);
      if (!m || document.visibilityState !== "visible") return;
      if (receipts.seen(openPeer, m)) draw(openPeer);
    },
    /** "read by …" under own group message `m` (kept on it, so a change redraws it), or "". */
    readBy: (m) => (m.readBy = groupReads.label(m)),
    /** Changes a loaded message by msgId and redraws it (see updateMessage). */
    updateMessage,
    /** Recall, edit and delete for me (message-edits.js), for the view's message menu. */
    edits,
    /** The message of the open conversation with view key `key`, if any. */
    messageAt: (key) => (openPeer ? convs.get(openPeer)?.all.get(key) : undefined),
    /** Loads page 1 of the open conversation again (after a failure). */
    retryHistory: () => openPeer && void replay.loadNewest(convOf(openPeer)),
    /** Reconnects now instead of waiting for the backoff. */
    retryNow: () => conn.retryNow(),
    stop() {
      stopped = true;
      clearInterval(gapWatch);
      conn.stop();
      outbox.stop();
      list.stop();
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };

  ui.peers();
  conn.start();
  return session;
}
