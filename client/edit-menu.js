// The view's part of recall, edit and delete: a recalled message reads "Message recalled", an
// edited one shows its new text and an "edited" mark, and each stored message has a small menu
// (Recall and Edit for one's own recent messages, Delete for me for any).

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The bubble's content element (what message-view.js drew for the message's type). */
const bodyOf = (bubble) => [...bubble.children].find((c) => !c.matches(".sender, .meta, .msg-menu-btn, .msg-menu"));

/** The nearest ancestor that scrolls (the conversation's message box). */
function scrollerOf(el) {
  for (let p = el.parentElement; p; p = p.parentElement) if (/(auto|scroll)/.test(getComputedStyle(p).overflowY)) return p;
  return document.documentElement;
}

/**
 * Decorates the message elements of `view` (message-view.js). `edits()` gives the session's
 * message edits (message-edits.js) while someone is signed in; `lookup(li)` the message an element
 * shows now (menus act on the current state, not the one drawn).
 */
export function decorateEdits(view, edits, lookup) {
  let open; // the menu shown, if any

  function closeMenu() {
    open?.previousElementSibling?.setAttribute("aria-expanded", "false");
    open?.remove();
    open = undefined;
  }
  document.addEventListener("click", (e) => open && !open.contains(e.target) && closeMenu());
  document.addEventListener("keydown", (e) => e.key === "Escape" && closeMenu());

  function showMenu(li, button) {
    const m = lookup(li);
    const e = edits();
    if (!m || !e) return;
    closeMenu();
    const menu = h("div", "msg-menu");
    menu.setAttribute("role", "menu");
    const item = (label, run) => {
      const b = h("button", "", label);
      b.type = "button";
      b.setAttribute("role", "menuitem");
      b.addEventListener("click", (ev) => {
        ev.stopPropagation();
        closeMenu();
        run();
      });
      menu.append(b);
    };
    if (e.canRecall(m)) item("Recall", () => e.recall(m));
    if (e.canEdit(m)) {
      item("Edit", () => {
        const text = prompt("Edit message", m.msg);
        if (text !== null) e.edit(m, text);
      });
    }
    if (e.canDelete(m)) item("Delete for me", () => e.deleteForMe(m));
    if (!menu.childElementCount) return;
    button.after(menu);
    // Upwards when it would go past the bottom of the scrolling box (the last messages).
    const box = scrollerOf(li).getBoundingClientRect();
    if (menu.getBoundingClientRect().bottom > box.bottom) menu.classList.add("up");
    button.setAttribute("aria-expanded", "true");
    open = menu;
    menu.querySelector("button")?.focus();
  }

  view.decorate((li, m) => {
    const bubble = li.querySelector(".bubble");
    if (!bubble || li.classList.contains("notice")) return;
    const body = bodyOf(bubble);
    if (m.recalled && !body?.classList.contains("recalled")) {
      const note = h("div", "text muted recalled", m.own ? "You recalled this message" : "Message recalled");
      body ? body.replaceWith(note) : bubble.prepend(note);
    } else if (m.edited && !m.recalled && body && body.textContent !== m.msg) {
      body.replaceWith(h("div", "text", m.msg));
    }
    const meta = bubble.querySelector(".meta");
    if (m.edited && !m.recalled && meta && !meta.querySelector(".edited-mark")) meta.prepend(h("span", "edited-mark", "edited"));
    let button = bubble.querySelector(".msg-menu-btn");
    if (!m.msgId) return button?.remove();
    if (!button) {
      button = h("button", "msg-menu-btn", "⋯");
      button.type = "button";
      button.title = "Message actions";
      button.setAttribute("aria-label", "Message actions");
      button.setAttribute("aria-haspopup", "menu");
      button.addEventListener("click", (ev) => {
        ev.stopPropagation();
        if (open && button.nextSibling === open) closeMenu();
        else showMenu(li, button);
      });
      bubble.append(button);
    }
  });
}
