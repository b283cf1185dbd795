// The browser chat client's page: sign-in and sign-out, and what the chat session draws (the
// conversation list, the open conversation's header and messages). Its other parts:
// - composer.js: the text box and sending; connection-indicator.js: online or reconnecting
// - new-group-dialog.js and members-dialog.js: creating a group, and a group's members
import { createChatSession } from "./chat-session.js";
import { attachComposer } from "./composer.js";
import { createConnectionIndicator } from "./connection-indicator.js";
import { decorateEdits } from "./edit-menu.js";
import { isValidUserId } from "./format.js";
import { showReadBy } from "./group-reads.js";
import { createMembersDialog } from "./members-dialog.js";
import { createMessageView } from "./message-view.js";
import { createNewGroupDialog } from "./new-group-dialog.js";
import { avatar, createPeerList } from "./peer-list.js";
import { session as sessionStore, userStore } from "./storage.js";

const $ = (id) => document.getElementById(id);
const el = {
  login: $("login"), loginForm: $("login-form"), loginId: $("login-id"), loginToken: $("login-token"),
  loginError: $("login-error"), loginOrigin: $("login-origin"),
  app: $("app"), meAvatar: $("me-avatar"), meName: $("me-name"), conn: $("conn"), connText: $("conn-text"),
  logout: $("logout"), peerForm: $("peer-form"), peerInput: $("peer-input"), peers: $("peers"),
  noConversation: $("no-conversation"), convHeader: $("conv-header"), back: $("back"),
  peerAvatar: $("peer-avatar"), peerName: $("peer-name"), peerSub: $("peer-sub"), membersBtn: $("members-btn"),
  messages: $("messages"), loadOlder: $("load-older"),
  historyStatus: $("history-status"), messageList: $("message-list"), composer: $("composer"), composerNote: $("composer-note"),
  text: $("text"), sendImage: $("send-image"), toast: $("toast"),
  newGroup: $("new-group"), groupDialog: $("group-dialog"), groupForm: $("group-form"), groupName: $("group-name"),
  groupMembers: $("group-members"), groupError: $("group-error"), groupCancel: $("group-cancel"), groupCreate: $("group-create"),
  membersDialog: $("members-dialog"), membersAvatar: $("members-avatar"), membersTitle: $("members-title"),
  membersCount: $("members-count"), membersList: $("members-list"), membersAdd: $("members-add"),
  membersAddInput: $("members-add-input"), membersNote: $("members-note"), membersError: $("members-error"),
  membersClose: $("members-close"),
};

let chat;
let toastTimer;
let shownPeer; // the conversation the header shows

const messageView = createMessageView({ scroller: el.messages, list: el.messageList, onSeen: (key) => chat?.seen(key) });
messageView.decorate((li, m) => showReadBy(li, chat?.readBy(m) ?? ""));
decorateEdits(messageView, () => chat?.edits, (li) => chat?.messageAt(li.dataset.key));
const peerList = createPeerList({ list: el.peers, onOpen: (peer) => openConversation(peer), onMore: () => chat?.moreConversations() });
const showConnection = createConnectionIndicator({ conn: el.conn, connText: el.connText });
const membersDialog = createMembersDialog({ el, chat: () => chat });
const newGroupDialog = createNewGroupDialog({ el, chat: () => chat });

function notify(text) {
  el.toast.textContent = text;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.toast.hidden = true), 5000);
}

const ui = {
  connection: (s) => showConnection(s),
  notify,
  visibleKeys: () => messageView.visibleKeys(),
  peers(list, unread, openPeer, describe, paging) {
    peerList.render(list, unread, openPeer, describe, paging);
    const total = [...unread.values()].reduce((a, b) => a + b, 0);
    document.title = `${total > 0 ? `(${total}) ` : ""}Chat · ${el.meName.textContent}`;
  },
  conversation(conv, opts) {
    if (conv.peer !== chat?.openPeer) return;
    const info = chat.describe(conv.peer);
    el.noConversation.hidden = true;
    el.convHeader.hidden = el.messages.hidden = false;
    el.app.classList.add("show-conversation");
    if (shownPeer !== conv.peer) {
      shownPeer = conv.peer;
      el.peerAvatar.replaceChildren(avatar(conv.peer));
      el.convHeader.dataset.kind = info.kind;
      el.messages.dataset.kind = info.kind;
    }
    if (el.peerName.textContent !== info.name) el.peerName.textContent = info.name;
    const sub = info.subtitle ?? "";
    if (el.peerSub.textContent !== sub) el.peerSub.textContent = sub;
    el.peerSub.hidden = !sub;
    el.membersBtn.hidden = info.kind !== "group";
    // The system's broadcasts take no reply; a group this user left takes no message.
    const note = info.kind === "system" ? "Announcements from the administrators. You cannot reply here."
      : info.left ? "You are not a member of this group: you can read its history but not write to it." : "";
    el.composer.hidden = !!note;
    el.composerNote.textContent = note;
    el.composerNote.hidden = !note;
    el.loadOlder.hidden = !conv.hasOlder;
    el.loadOlder.disabled = !!conv.loadingOlder;
    el.loadOlder.textContent = conv.loadingOlder ? "Loading…" : "Load older messages";
    const status =
      conv.history === "loading" && conv.all.size === 0 ? "Loading messages…"
      : conv.history === "failed" ? `Messages could not be loaded (${conv.historyError}). Click to retry.`
      : conv.history === "loaded" && conv.all.size === 0
        ? info.kind === "system" ? "No announcements yet." : `No messages yet. Say hi to ${info.kind === "group" ? "the group" : info.name}!`
      : "";
    el.historyStatus.textContent = status;
    el.historyStatus.hidden = !status;
    el.historyStatus.classList.toggle("failed", conv.history === "failed");
    messageView.render(conv, opts);
    membersDialog.changed(conv.peer);
  },
};

function openConversation(peer) {
  chat.open(peer);
  if (!el.composer.hidden) el.text.focus();
}

function closeDialogs() {
  membersDialog.close();
  newGroupDialog.close();
}

function start(s) {
  el.login.hidden = true;
  el.app.hidden = false;
  el.meName.textContent = s.userId;
  el.meAvatar.replaceChildren(avatar(s.userId));
  chat = createChatSession({ me: s.userId, token: s.token, ui });
  const peer = userStore(s.userId).openPeer();
  if (isValidUserId(peer)) openConversation(peer);
}

function showLogin() {
  el.app.hidden = true;
  el.login.hidden = false;
  el.loginOrigin.textContent = location.host;
  el.loginId.value = sessionStore.lastUserId();
  el.loginId.focus();
}

el.loginForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const userId = el.loginId.value.trim();
  if (!isValidUserId(userId)) {
    el.loginError.textContent = "A user id is 1 to 64 letters, digits or _ . @ : + -";
    return;
  }
  el.loginError.textContent = "";
  const s = { userId, token: el.loginToken.value.trim() };
  sessionStore.set(s);
  sessionStore.rememberUserId(userId);
  start(s);
});

el.logout.addEventListener("click", () => {
  chat?.stop();
  chat = undefined;
  sessionStore.set(null);
  messageView.clear();
  closeDialogs();
  shownPeer = undefined;
  el.peerName.textContent = "";
  el.peerSub.textContent = "";
  el.composerNote.hidden = true;
  el.noConversation.hidden = false;
  el.convHeader.hidden = el.messages.hidden = el.composer.hidden = true;
  el.app.classList.remove("show-conversation");
  document.title = "Chat";
  showLogin();
});

el.peerForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const peer = el.peerInput.value.trim();
  if (!isValidUserId(peer)) return notify("A user id is 1 to 64 letters, digits or _ . @ : + -");
  el.peerInput.value = "";
  openConversation(peer);
});
attachComposer({ el, chat: () => chat, notify });
el.loadOlder.addEventListener("click", () => chat?.loadOlder());
el.historyStatus.addEventListener("click", () => chat?.retryHistory());
el.conn.addEventListener("click", () => chat?.retryNow());
el.back.addEventListener("click", () => el.app.classList.remove("show-conversation"));
addEventListener("pagehide", () => chat?.stop());
addEventListener("pageshow", (e) => e.persisted && location.reload()); // back/forward cache: start afresh

const saved = sessionStore.get();
if (saved && isValidUserId(saved.userId)) start(saved);
else showLogin();
