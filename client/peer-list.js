// The conversation list: recent peers (kept in localStorage), last message, time and unread badge.
import { hueOf, initialsOf, shortWhen } from "./format.js";

/** An avatar element for a user id (initials on a colour derived from the id). */
export function avatar(id, className = "avatar") {
  const el = document.createElement("div");
  el.className = className;
  el.textContent = initialsOf(id);
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

/** Creates the list in `list` (a <ul>); `onOpen(peerId)` when one is picked. */
export function createPeerList({ list, onOpen }) {
  return {
    /** `peers`: `[{id, preview, when}]` most recent first; `unread`: Map of peer → count. */
    render(peers, unread, openPeer) {
      const items = peers.map((p) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "peer-item";
        button.dataset.peer = p.id;
        if (p.id === openPeer) button.setAttribute("aria-current", "true");
        const count = unread.get(p.id) ?? 0;
        const top = document.createElement("div");
        top.className = "peer-top";
        top.append(span("peer-name", p.id), span("peer-when", shortWhen(p.when)));
        const bottom = document.createElement("div");
        bottom.className = "peer-bottom";
        bottom.append(span("peer-preview", p.preview || "No messages yet"));
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
      if (items.length === 0) {
        const empty = document.createElement("li");
        empty.className = "peers-empty";
        empty.textContent = "No conversations yet. Type a user id above to start one.";
        items.push(empty);
      }
      list.replaceChildren(...items);
    },
  };
}
