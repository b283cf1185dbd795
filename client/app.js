// The browser chat client's page: sign-in, conversation list, conversation view, connection indicator.
import { createChatSession } from "./chat-session.js";
import { isSafeMediaUrl, isValidUserId } from "./format.js";
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
  peerAvatar: $("peer-avatar"), peerName: $("peer-name"), messages: $("messages"), loadOlder: $("load-older"),
  historyStatus: $("history-status"), messageList: $("message-list"), composer: $("composer"),
  text: $("text"), sendImage: $("send-image"), toast: $("toast"),
};

// The server refuses frames over MAX_FRAME_BYTES (64 KiB by default); leave room for the envelope.
const MAX_TEXT_BYTES = 60_000;
let chat;
let connState = { state: "connecting" };
let toastTimer;

const messageView = createMessageView({ scroller: el.messages, list: el.messageList, onSeen: (key) => chat?.seen(key) });
const peerList = createPeerList({ list: el.peers, onOpen: (peer) => openConversation(peer) });

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
  peers(list, unread, openPeer) {
    peerList.render(list, unread, openPeer);
    const total = [...unread.values()].reduce((a, b) => a + b, 0);
    document.title = `${total > 0 ? `(${total}) ` : ""}Chat · ${el.meName.textContent}`;
  },
  conversation(conv, opts) {
    if (conv.peer !== chat?.openPeer) return;
    el.noConversation.hidden = true;
    el.convHeader.hidden = el.messages.hidden = el.composer.hidden = false;
    el.app.classList.add("show-conversation");
    if (el.peerName.textContent !== conv.peer) {
      el.peerName.textContent = conv.peer;
      el.peerAvatar.replaceChildren(avatar(conv.peer));
    }
    el.loadOlder.hidden = !conv.hasOlder;
    el.loadOlder.disabled = !!conv.loadingOlder;
    el.loadOlder.textContent = conv.loadingOlder ? "Loading…" : "Load older messages";
    const status =
      conv.history === "loading" && conv.all.size === 0 ? "Loading messages…"
      : conv.history === "failed" ? `Messages could not be loaded (${conv.historyError}). Click to retry.`
      : conv.history === "loaded" && conv.all.size === 0 ? `No messages yet. Say hi to ${conv.peer}!`
      : "";
    el.historyStatus.textContent = status;
    el.historyStatus.hidden = !status;
    el.historyStatus.classList.toggle("failed", conv.history === "failed");
    messageView.render(conv, opts);
  },
};

function openConversation(peer) {
  chat.open(peer);
  el.text.focus();
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
    el.loginError.textContent = "A user id is 1 to 64 characters.";
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
  el.peerName.textContent = "";
  el.noConversation.hidden = false;
  el.convHeader.hidden = el.messages.hidden = el.composer.hidden = true;
  el.app.classList.remove("show-conversation");
  document.title = "Chat";
  showLogin();
});

el.peerForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const peer = el.peerInput.value.trim();
  if (!isValidUserId(peer)) return notify("A user id is 1 to 64 characters.");
  el.peerInput.value = "";
  openConversation(peer);
});

function sendText(msgType) {
  const text = el.text.value.trim();
  if (!text || !chat) return;
  if (msgType === 2 && !isSafeMediaUrl(text)) return notify("Paste the URL of an image (http or https) to send it as a photo.");
  if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES) return notify("This message is too long to send: shorten it.");
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
