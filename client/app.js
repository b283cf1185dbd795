// The browser chat client's page: sign-in, conversation list, conversation view, connection indicator,
// new-group and group-members dialogs.
import { createChatSession } from "./chat-session.js";
import { decorateEdits } from "./edit-menu.js";
import { isSafeMediaUrl, isValidUserId, kindOf, parseUserIds } from "./format.js";
import { showReadBy } from "./group-reads.js";
import { createMessageView } from "./message-view.js";
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

// The server refuses frames over MAX_FRAME_BYTES (64 KiB by default); leave room for the envelope.
/** The server's default MAX_MSG_CHARS: a longer message would be refused (BAD_FRAME). */
const MAX_TEXT_CHARS = 16_384;
let chat;
let connState = { state: "connecting" };
let toastTimer;
let shownPeer; // the conversation the header shows
let membersOf; // the group the members dialog shows

const messageView = createMessageView({ scroller: el.messages, list: el.messageList, onSeen: (key) => chat?.seen(key) });
messageView.decorate((li, m) => showReadBy(li, chat?.readBy(m) ?? ""));
decorateEdits(messageView, () => chat?.edits, (li) => chat?.messageAt(li.dataset.key));
const peerList = createPeerList({ list: el.peers, onOpen: (peer) => openConversation(peer), onMore: () => chat?.moreConversations() });

function notify(text) {
  el.toast.textContent = text;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.toast.hidden = true), 5000);
}

function drawConnection() {
  const s = connState;
  const node = s.node ? `${s.node.ip}:${s.node.port}` : "";
  el.conn.dataset.state = s.state;
  el.conn.dataset.node = s.state === "online" ? node : "";
  let text;
  if (s.state === "online") text = `Online · ${node}`;
  else {
    const waitS = s.retryAt ? Math.ceil((s.retryAt - Date.now()) / 1000) : 0;
    text = `${s.state === "connecting" ? "Connecting" : "Reconnecting"}${waitS > 0 ? ` in ${waitS} s` : "…"}`;
  }
  el.connText.textContent = text;
  el.conn.title = s.state === "online" ? `Connected to instance ${node}` : `${s.reason ?? "Not connected"} — click to retry now`;
}
setInterval(() => connState.state !== "online" && connState.retryAt && drawConnection(), 500);

const ui = {
  connection(s) {
    connState = s;
    drawConnection();
  },
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
    if (membersOf === conv.peer && el.membersDialog.open) drawMembers();
  },
};

function openConversation(peer) {
  chat.open(peer);
  if (!el.composer.hidden) el.text.focus();
}

// The members of a group: who is in it, and for its owner adding and removing members.
function drawMembers() {
  const id = membersOf;
  if (!id || !chat) return;
  const info = chat.describe(id);
  const g = info.group;
  el.membersTitle.textContent = info.name;
  el.membersAvatar.replaceChildren(avatar(id));
  const members = g?.members ? [...g.members].sort((a, b) => (b === g.ownerId) - (a === g.ownerId) || (b === chat.me) - (a === chat.me)) : undefined;
  el.membersCount.textContent = members ? `Group · ${members.length} member${members.length === 1 ? "" : "s"}` : "Group · loading members…";
  el.membersList.replaceChildren(...(members ?? []).map((u) => {
    const li = document.createElement("li");
    li.className = "member";
    li.dataset.user = u;
    const name = document.createElement("span");
    name.className = "member-name";
    name.textContent = u === chat.me ? `${u} (you)` : u;
    li.append(avatar(u), name);
    if (u === g.ownerId) {
      const tag = document.createElement("span");
      tag.className = "owner-tag";
      tag.textContent = "Owner";
      li.append(tag);
    } else if (info.isOwner && !info.left) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "ghost danger small-button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${u}`);
      remove.addEventListener("click", () => changeMembers("remove", [u], remove));
      li.append(remove);
    }
    return li;
  }));
  el.membersAdd.hidden = !info.isOwner || info.left;
  el.membersNote.textContent = info.isOwner || !g?.ownerId ? "" : `Only the owner, ${g.ownerId}, can add or remove members.`;
  el.membersNote.hidden = !el.membersNote.textContent;
}

async function changeMembers(action, userIds, button) {
  const id = membersOf;
  if (!id || !chat) return;
  el.membersError.textContent = "";
  if (button) button.disabled = true;
  try {
    await chat.changeMembers(id, action, userIds);
    if (action === "add") el.membersAddInput.value = "";
  } catch (err) {
    el.membersError.textContent = `Members could not be ${action === "add" ? "added" : "removed"}: ${err.message}`;
  } finally {
    if (button) button.disabled = false;
  }
  drawMembers();
}

function showMembers() {
  const id = chat?.openPeer;
  if (!id || kindOf(id) !== "group") return;
  membersOf = id;
  el.membersError.textContent = "";
  el.membersAddInput.value = "";
  drawMembers();
  if (!el.membersDialog.open) el.membersDialog.showModal();
  void chat.reloadMembers(id);
}

function closeDialogs() {
  if (el.membersDialog.open) el.membersDialog.close();
  if (el.groupDialog.open) el.groupDialog.close();
  membersOf = undefined;
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

el.newGroup.addEventListener("click", () => {
  el.groupForm.reset();
  el.groupError.textContent = "";
  el.groupCreate.disabled = false;
  el.groupDialog.showModal();
  el.groupName.focus();
});
el.groupCancel.addEventListener("click", () => el.groupDialog.close());
el.groupForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = el.groupName.value.trim();
  const { valid, invalid } = parseUserIds(el.groupMembers.value);
  if (!name) return void (el.groupError.textContent = "Give the group a name.");
  if (invalid.length) return void (el.groupError.textContent = `Not a user id: ${invalid.join(", ")}`);
  const members = valid.filter((u) => u !== chat?.me);
  if (!members.length) return void (el.groupError.textContent = "Add at least one member besides you.");
  if (!chat) return;
  el.groupError.textContent = "";
  el.groupCreate.disabled = true;
  try {
    await chat.createGroup(name, members);
    el.groupDialog.close();
    el.text.focus();
  } catch (err) {
    el.groupError.textContent = `The group could not be created: ${err.message}`;
  } finally {
    el.groupCreate.disabled = false;
  }
});

el.membersBtn.addEventListener("click", showMembers);
el.peerName.parentElement.addEventListener("click", showMembers);
el.membersClose.addEventListener("click", () => el.membersDialog.close());
el.membersDialog.addEventListener("close", () => (membersOf = undefined));
el.membersAdd.addEventListener("submit", (e) => {
  e.preventDefault();
  const { valid, invalid } = parseUserIds(el.membersAddInput.value);
  if (invalid.length) return void (el.membersError.textContent = `Not a user id: ${invalid.join(", ")}`);
  if (!valid.length) return void (el.membersError.textContent = "Type the user ids to add, comma separated.");
  void changeMembers("add", valid, el.membersAdd.querySelector("button"));
});

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

function sendText(msgType) {
  const text = el.text.value.trim();
  if (!text || !chat) return;
  if (msgType === 2 && !isSafeMediaUrl(text)) return notify("Paste the URL of an image (http or https) to send it as a photo.");
  if (text.length > MAX_TEXT_CHARS) return notify(`This message is too long to send: at most ${MAX_TEXT_CHARS} characters.`);
  chat.send(text, msgType);
  el.text.value = "";
  el.text.style.height = "";
  el.text.focus();
}

el.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  sendText(1);
});
el.sendImage.addEventListener("click", () => sendText(2));
el.text.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendText(1);
  }
});
el.text.addEventListener("input", () => {
  if (el.text.value) chat?.typed();
  el.text.style.height = "";
  el.text.style.height = `${Math.min(el.text.scrollHeight, 140)}px`;
});
el.loadOlder.addEventListener("click", () => chat?.loadOlder());
el.historyStatus.addEventListener("click", () => chat?.retryHistory());
el.conn.addEventListener("click", () => chat?.retryNow());
el.back.addEventListener("click", () => el.app.classList.remove("show-conversation"));
addEventListener("pagehide", () => chat?.stop());
addEventListener("pageshow", (e) => e.persisted && location.reload()); // back/forward cache: start afresh

const saved = sessionStore.get();
if (saved && isValidUserId(saved.userId)) start(saved);
else showLogin();
