// The conversation list on screen: peers and groups newest first (conversation-list.js keeps them)
// and the System conversation, with the last message, its time and an unread badge; older
// conversations load with a button at the end, or when the list is scrolled to it.
import { hueOf, initialsOf, kindOf, shortWhen } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";
// Two people (a group) and a megaphone (the system's announcements), drawn on a 16×16 grid.
const ICONS = {
  group: ["M5.5 7.6a2.3 2.3 0 1 0 0-4.6a2.3 2.3 0 0 0 0 4.6z", "M1 13.2c0-2.4 2-3.9 4.5-3.9s4.5 1.5 4.5 3.9z",
    "M11 7.4a2 2 0 1 0 0-4a2 2 0 0 0 0 4z", "M11 8.7c2.2 0 4 1.3 4 3.5v1h-3.8c0-1.9-.6-3.3-2.1-4.2c.5-.2 1.2-.3 1.9-.3z"],
  system: ["M2 6.2h2.4l6.1-3.4v10.4l-6.1-3.4H2z", "M4.6 10.2l1 3.8h2l-1-3.8z", "M12 5.9c1.2.4 1.9 1.2 1.9 2.1s-.7 1.7-1.9 2.1z"],
};

function icon(kind) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[kind]) {
    const p = document.createElementNS(SVG_NS, "path");
    p.setAttribute("d", d);
    svg.append(p);
  }
  return svg;
}

/**
 * An avatar element: for a user, initials on a colour derived from the id; for a group, a
 * rounded square with two people; for the system, a megaphone.
 */
export function avatar(id, className = "avatar") {
  const el = document.createElement("div");
  const kind = kindOf(id);
  el.className = kind === "user" ? className : `${className} ${kind}`;
  if (kind === "user") el.textContent = initialsOf(id);
  else el.append(icon(kind));
  el.style.setProperty("--hue", String(hueOf(id)));
  el.setAttribute("aria-hidden", "true");
  return el;
}

function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

const NO_MESSAGES = { user: "No messages yet", group: "No messages yet", system: "Announcements appear here" };

/**
 * Creates the list in `list` (a <ul>, the scrolling box); `onOpen(peerId)` when one is picked,
 * `onMore()` for older conversations.
 */
export function createPeerList({ list, onOpen, onMore = () => {} }) {
  const more = document.createElement("li");
  more.className = "peers-more";
  const moreButton = document.createElement("button");
  moreButton.type = "button";
  moreButton.id = "peers-more";
  moreButton.className = "ghost";
  moreButton.addEventListener("click", () => onMore());
  more.append(moreButton);
  list.addEventListener("scroll", () => {
    if (more.isConnected && !moreButton.disabled && list.scrollHeight - list.scrollTop - list.clientHeight < 40) onMore();
  });

  return {
    /**
     * `peers`: `[{id, preview, when}]` most recent first; `unread`: Map of peer → count; `describe(id)`
     * gives `{kind, name}` (a group's name, "System"); `paging`: `{hasMore, loading}`.
     */
    render(peers, unread, openPeer, describe = (id) => ({ kind: kindOf(id), name: id }), paging = {}) {
      const items = peers.map((p) => {
        const info = describe(p.id);
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "peer-item";
        button.dataset.peer = p.id;
        button.dataset.kind = info.kind;
        if (p.id === openPeer) button.setAttribute("aria-current", "true");
        const count = unread.get(p.id) ?? 0;
        const top = document.createElement("div");
        top.className = "peer-top";
        const name = span("peer-name", info.name);
        if (info.kind === "group") name.title = `Group · ${info.name}`;
        top.append(name, span("peer-when", shortWhen(p.when)));
        const bottom = document.createElement("div");
        bottom.className = "peer-bottom";
        bottom.append(span("peer-preview", p.preview || NO_MESSAGES[info.kind]));
        if (count > 0) {
          const badge = span("badge", count > 99 ? "99+" : String(count));
          badge.setAttribute("aria-label", `${count} unread`);
          bottom.append(badge);
        }
        const text = document.createElement("div");
        text.className = "peer-text";
        text.append(top, bottom);
        button.append(avatar(p.id), text);
        button.addEventListener("click", () => onOpen(p.id));
        li.append(button);
        return li;
      });
      if (items.every((li) => li.firstChild?.dataset.kind === "system")) {
        const empty = document.createElement("li");
        empty.className = "peers-empty";
        empty.textContent = "No conversations yet. Type a user id above to start one, or create a group.";
        items.unshift(empty);
      }
      if (paging.hasMore) {
        moreButton.disabled = !!paging.loading;
        moreButton.textContent = paging.loading ? "Loading…" : "Older conversations";
        items.push(more);
      }
      list.replaceChildren(...items);
    },
  };
}
