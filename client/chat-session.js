// One signed-in user's chat: it composes the parts and gives the UI (app.js) its methods.
// - connection.js: the socket (instance choice, CONNECT_INIT, reconnects)
// - frame-router.js: where each incoming frame goes, by kind (see `router.on…` below)
// - incoming-messages.js: a chat message put into its conversation, and the parts told
// - outbox.js: sending, and resending what is not acknowledged yet
// - replay.js: what CONNECT_INIT asks to replay; history pages merged into conversations
// - receipts.js: read receipts; groups.js: the user's groups; live-status.js: presence and typing
// - group-reads.js: who read the user's group messages; marking a viewed group read
// - message-edits.js: recall, edit and delete for me (edit-menu.js draws them)
// - conversation-list.js: the list with last message and unread counts (unread-badges.js)
// - loaded-conversations.js: the loaded conversations (conversation.js), a message found by msgId
// - open-conversation.js: the conversation on screen (message-view.js draws it): opening, sending
// - draw-batch.js: changes drawn once per burst
import { createApi } from "./api.js";
import { createConnection } from "./connection.js";
import { createConversationList } from "./conversation-list.js";
import { createDrawBatch } from "./draw-batch.js";
import { createFrameRouter } from "./frame-router.js";
import { kindOf } from "./format.js";
import { createGroupReads } from "./group-reads.js";
import { createGroups } from "./groups.js";
import { takeIncomingMessages } from "./incoming-messages.js";
import { createLiveStatus } from "./live-status.js";
import { createLoadedConversations } from "./loaded-conversations.js";
import { createMessageEdits } from "./message-edits.js";
import { createOpenConversation } from "./open-conversation.js";
import { SIGNED, createOutbox } from "./outbox.js";
import { createReceipts } from "./receipts.js";
import { createReplay } from "./replay.js";
import { userStore } from "./storage.js";

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
    peers: () => stopped || target.peers(list.entries(), list.counts, onScreen.peer, describe, list.paging()),
    connection: (s) => stopped || target.connection(s),
    notify: (text) => stopped || target.notify(text),
    visibleKeys: () => (stopped ? [] : target.visibleKeys()),
  };
  const store = userStore(me);
  const api = createApi({ token });
  let lives = 0;

  // Drawing: changes are redrawn (and saved) once per burst (draw-batch.js), e.g. a replay.
  const draw = createDrawBatch({
    openPeer: () => onScreen.peer,
    drawOpen: (opts) => ui.conversation(convOf(onScreen.peer), opts),
    flush(changed) {
      const openPeer = onScreen.peer;
      if (openPeer && changed.has(openPeer)) ui.conversation(convOf(openPeer), {});
      if (openPeer && onScreen.viewing(openPeer) && !groups.get(openPeer)?.left) groupReads.viewed(convOf(openPeer));
      ui.peers();
      list.save();
      receipts.save();
    },
  });

  const replay = createReplay({
    me, api, store,
    loaded: (conv) => list.touch(conv.peer, conv.last(), false),
    draw,
    notify: (text) => ui.notify(text),
  });
  const list = createConversationList({
    me, api, store,
    viewing: (peer) => onScreen.viewing(peer),
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
      const last = loaded.get(id)?.last();
      list.touch(id, last, !!last);
    },
    keys: () => [...list.entries().map((p) => p.id), ...loaded.keys()],
    left(id) {
      const dropped = outbox.drop(id); // this user's unsent messages to it will not be sent
      for (const o of dropped) convOf(id).failed(o.clientMsgId);
      if (dropped.length) draw(id);
    },
    draw: (id) => draw(id ?? onScreen.peer),
  });
  const groupReads = createGroupReads({
    me, send: (frame) => conn.send(frame), readState: (id, n) => api.readState(me, id, n), messagesOf: (id) => loaded.get(id)?.all.values() ?? [], draw,
  });
  const loaded = createLoadedConversations({
    me,
    readBefore: () => receipts.readBefore,
    pendingTo: (peer) => outbox.to(peer),
    lastChanged: (peer, last) => list.touch(peer, last, false),
    draw,
  });
  const { convOf, updateMessage } = loaded;
  const liveStatus = createLiveStatus({ me, send: (frame) => conn.send(frame), changed: (key) => key === onScreen.peer && draw(key) });
  const receipts = createReceipts({ me, store, find: loaded.findMessage, sign: (id) => outbox.sign(id), signed: (id) => outbox.signed(id), draw });

  // Incoming frames by kind: a new kind is one line here (or in its module, given `router`).
  const router = createFrameRouter();
  takeIncomingMessages({ me, router, loaded, groups, replay, outbox, liveStatus, list, draw });
  router.onChat([SIGNED], (c) => receipts.onSigned(c));
  router.onFeature("presence", (_, f) => liveStatus.onFrame(f));
  router.onFeature("typing", (_, f) => liveStatus.onFrame(f));
  router.onFeature("read", (read) => groupReads.onReceipt(read), "reads");
  const edits = createMessageEdits({
    router, send: (frame) => conn.send(frame), live: () => conn.live, updateMessage, removeMessage: loaded.removeMessage, notify: (text) => ui.notify(text),
  });

  function onLive(ack) {
    lives++;
    replay.started(ack?.seqs);
    liveStatus.onLive();
    groupReads.onLive(onScreen.peer);
    edits.onInit(ack);
    // A replay cut at REPLAY_MAX (or one the store could not answer) does not hold everything missed.
    const partial = ack?.recovered === false;
    if (partial) ui.notify("Some messages from while you were away were not replayed: they are in each conversation's history.");
    void list.reload().then((unread) => unread.forEach((id) => kindOf(id) === "group" && groups.know(id)));
    void groups.refresh();
    outbox.resendAll();
    const conv = onScreen.peer && loaded.get(onScreen.peer);
    // After a reconnect page 1 brings read receipts given while this client was away.
    if (conv && (lives > 1 || partial || conv.history === "failed")) void replay.loadNewest(convOf(onScreen.peer));
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
  const onScreen = createOpenConversation({ store, ui, draw, loaded, list, replay, groups, groupReads, outbox, receipts, liveStatus });

  // A gap in a timeline open this long is a frame routed nowhere, not frames overtaking each other: replay.
  const gapWatch = setInterval(() => replay.gapAge() > GAP_REPLAY_MS && conn.replayNow("a gap in a timeline stayed open"), 1000);

  const session = {
    me,
    // The open conversation (open-conversation.js): open(peer), send(text, msgType), seen(key),
    // typed(), loadOlder(), retryHistory(), messageAt(key) and the `openPeer` below.
    open: onScreen.open,
    send: onScreen.send,
    seen: onScreen.seen,
    typed: onScreen.typed,
    loadOlder: onScreen.loadOlder,
    retryHistory: onScreen.retryHistory,
    messageAt: onScreen.messageAt,
    /** The peer of the open conversation, if any. */
    get openPeer() {
      return onScreen.peer;
    },
    /** Name, kind and (for a group) members line, owner flag and membership of a conversation. */
    describe,
    /** Creates a group of `me` and `members` (user ids) and opens it; resolves the group, rejects with an ApiError. */
    async createGroup(name, members) {
      const g = await groups.create(name, members);
      list.touch(g.groupId, undefined, true);
      onScreen.open(g.groupId);
      return g;
    },
    /** Reloads a group's members (for the members view). */
    reloadMembers: (groupId) => groups.loadMembers(groupId),
    /** Adds (`"add"`) or removes (`"remove"`) members of a group (its owner only); rejects with an ApiError. */
    changeMembers: (groupId, action, userIds) => groups.changeMembers(groupId, action, userIds),
    /** Loads the next older page of the conversation list. */
    moreConversations: () => list.more(),
    /** "read by …" under own group message `m` (kept on it, so a change redraws it), or "". */
    readBy: (m) => (m.readBy = groupReads.label(m)),
    /** Changes a loaded message by msgId and redraws it (see loaded-conversations.js). */
    updateMessage,
    /** Recall, edit and delete for me (message-edits.js), for the view's message menu. */
    edits,
    /** Reconnects now instead of waiting for the backoff. */
    retryNow: () => conn.retryNow(),
    stop() {
      stopped = true;
      clearInterval(gapWatch);
      conn.stop();
      outbox.stop();
      list.stop();
      onScreen.stop();
    },
  };

  ui.peers();
  conn.start();
  return session;
}
