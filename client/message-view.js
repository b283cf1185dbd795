// The open conversation on screen: own / peer bubbles (in a group with the sender's name), system
// notices, day separators, times, delivery ticks, images; keeps the scroll at the bottom while the
// user is there; reports peer messages in view.
import { clockOf, dayLabel, dayOf, hueOf, isSafeMediaUrl } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const TICK = "M1.5 6.5l3 3 6.5-7.5";
const SECOND_TICK = "M7.5 9.5l.5.5 6.5-7.5";
const CLOCK = ["M6 1.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9z", "M6 3.5V6l1.8 1.2"];
const FAILED = ["M6 1.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9z", "M6 3.3v3.2", "M6 8.4v.1"];

function svg(paths, viewBox) {
  const el = document.createElementNS(SVG_NS, "svg");
  el.setAttribute("viewBox", viewBox);
  el.setAttribute("aria-hidden", "true");
  for (const d of paths) {
    const p = document.createElementNS(SVG_NS, "path");
    p.setAttribute("d", d);
    el.append(p);
  }
  return el;
}

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The body of a bubble by msgType; only textContent and vetted URLs, never HTML. */
function contentOf(m, onMediaLoad) {
  const url = m.msg;
  if (m.msgType === 2 && isSafeMediaUrl(url)) {
    // A link opens the full picture; browsers refuse to navigate to data: URLs, so those get none.
    const link = h(url.startsWith("data:") ? "span" : "a", "photo-link");
    if (link instanceof HTMLAnchorElement) {
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    const img = h("img", "photo");
    img.alt = "Photo";
    img.src = url;
    img.addEventListener("load", onMediaLoad);
    img.addEventListener("error", () => link.replaceWith(h("div", "text muted", "Photo could not be loaded")));
    link.append(img);
    return link;
  }
  if (m.msgType === 3 && isSafeMediaUrl(m.voicePath)) {
    const audio = h("audio", "voice");
    audio.controls = true;
    audio.preload = "none";
    audio.src = m.voicePath;
    return audio;
  }
  if (m.msgType === 4 && isSafeMediaUrl(m.videoPath)) {
    const video = h("video", "video");
    video.controls = true;
    video.preload = "none";
    if (isSafeMediaUrl(url)) video.poster = url;
    video.src = m.videoPath;
    return video;
  }
  const fallback = { 2: "Photo", 3: "Voice message", 4: "Video" }[m.msgType];
  return fallback ? h("div", "text muted", url ? `${fallback}: ${url}` : fallback) : h("div", "text", m.msg);
}

const STATUS_LABEL = { pending: "Sending…", sent: "Sent", read: "Read", failed: "Not sent" };

function ticksOf(status, failReason) {
  const el = h("span", `ticks ${status}`);
  const label = status === "failed" && failReason ? `${STATUS_LABEL.failed}: ${failReason}` : STATUS_LABEL[status];
  el.title = label;
  el.setAttribute("aria-label", label);
  if (status === "pending") el.append(svg(CLOCK, "0 0 12 12"));
  else if (status === "failed") el.append(svg(FAILED, "0 0 12 12"));
  else el.append(svg(status === "read" ? [TICK, SECOND_TICK] : [TICK], "0 0 16 12"));
  return el;
}

/**
 * Creates the view over `scroller` (the scrolling box) and `list` (the <ol>). `onSeen(key)` is called
 * when an unread peer message comes into view; `visibleKeys()` lists those in view now.
 */
export function createMessageView({ scroller, list, onSeen }) {
  const nodes = new Map();
  const decorators = []; // (li, m) => void, after each update of a message element
  const inView = new Set();
  let peer;
  let kind = "user";
  let stick = true;

  // Measured, not taken from the last scroll event: that one fires a frame after the scroll.
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  scroller.addEventListener("scroll", () => (stick = nearBottom()));
  const toBottom = () => {
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  };
  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const key = e.target.dataset.key;
        if (e.isIntersecting) {
          inView.add(key);
          onSeen(key);
        } else inView.delete(key);
      }
    },
    { root: scroller, threshold: 0.5 },
  );

  function bubble(m) {
    const li = h("li", "msg");
    li.dataset.key = m.key;
    const b = h("div", "bubble");
    if (kind === "group" && !m.own) {
      // Several people write in a group: the first bubble of each run names its sender.
      const sender = h("div", "sender", m.senderId);
      sender.style.setProperty("--hue", String(hueOf(m.senderId)));
      b.append(sender);
    }
    b.append(contentOf(m, toBottom), h("div", "meta"));
    li.append(b);
    return li;
  }

  /**
   * Brings a message element up to date with `m` (found by its key; `li.dataset.msgId` names the
   * message once stored). `first`: the message starts a run of one sender's messages (in a group:
   * show the name). A change without a new status or time (an edit, a recall) bumps `m.rev`.
   */
  function update(li, m, first) {
    const status = m.own ? m.status : m.isRead ? "read" : "unread";
    const sig = `${m.msgId}|${status}|${m.chatTime}|${first}|${m.rev ?? 0}`;
    if (li.dataset.sig === sig) return;
    li.dataset.sig = sig;
    li.className = kind === "system" ? "msg notice" : `msg ${m.own ? "own" : "peer"}${first ? " first" : ""}`;
    li.dataset.status = status;
    if (kind === "group" && !m.own) li.dataset.sender = m.senderId;
    const sender = li.querySelector(".sender");
    if (sender) sender.hidden = !first;
    if (m.msgId) li.dataset.msgId = m.msgId;
    const meta = li.querySelector(".meta");
    const time = h("time", "", clockOf(m.chatTime));
    time.dateTime = m.chatTime.replace(" ", "T");
    time.title = m.chatTime;
    meta.replaceChildren(time, ...(m.own ? [ticksOf(m.status, m.failReason)] : []));
    if (!m.own && !m.isRead) observer.observe(li);
    else {
      observer.unobserve(li);
      inView.delete(m.key);
    }
    for (const decorate of decorators) decorate(li, m);
  }

  function dayNode(day) {
    const key = `d${day}`;
    let li = nodes.get(key);
    if (!li) {
      li = h("li", "day");
      li.dataset.key = key;
      li.append(h("span", "", dayLabel(day)));
      nodes.set(key, li);
    }
    return li;
  }

  return {
    /** Shows `conv`; `anchorOlder` keeps the visible messages in place after older ones were added above. */
    render(conv, { anchorOlder = false, toEnd = false } = {}) {
      if (conv.peer !== peer) {
        peer = conv.peer;
        kind = conv.kind ?? "user";
        observer.disconnect();
        inView.clear();
        nodes.clear();
        list.replaceChildren();
      }
      stick = toEnd || nearBottom();
      const before = scroller.scrollHeight - scroller.scrollTop;
      const desired = [];
      let lastDay;
      let prev;
      for (const m of conv.messages()) {
        const day = dayOf(m.chatTime);
        if (day && day !== lastDay) {
          desired.push(dayNode(day));
          lastDay = day;
          prev = undefined;
        }
        let li = nodes.get(m.key);
        if (!li) nodes.set(m.key, (li = bubble(m)));
        update(li, m, !prev || prev.own !== m.own || prev.senderId !== m.senderId);
        prev = m;
        desired.push(li);
      }
      let cursor = list.firstChild;
      for (const el of desired) {
        if (el === cursor) cursor = cursor.nextSibling;
        else list.insertBefore(el, cursor);
      }
      while (cursor) {
        const next = cursor.nextSibling;
        nodes.delete(cursor.dataset.key);
        observer.unobserve(cursor);
        cursor.remove();
        cursor = next;
      }
      if (anchorOlder) scroller.scrollTop = scroller.scrollHeight - before;
      else toBottom();
      stick = nearBottom();
    },
    /**
     * Adds `decorate(li, m)`, run whenever a message element is drawn or its message changed (its
     * status, time or `rev`): e.g. an edited or recalled message's body, a group message's readers.
     */
    decorate: (fn) => void decorators.push(fn),
    /** Keys of unread peer messages in view now. */
    visibleKeys: () => [...inView],
    clear() {
      peer = undefined;
      observer.disconnect();
      inView.clear();
      nodes.clear();
      list.replaceChildren();
    },
  };
}
