// The members dialog of a group: who is in it and, for its owner, adding and removing members.
import { kindOf, parseUserIds } from "./format.js";
import { avatar } from "./peer-list.js";

/**
 * Wires the dialog's elements of `el` (the page's, app.js); `chat()` is the signed-in session, if
 * any. The dialog opens from the header of an open group.
 */
export function createMembersDialog({ el, chat: session }) {
  let membersOf; // the group the dialog shows

  function draw() {
    const id = membersOf;
    const chat = session();
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
    const chat = session();
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
    draw();
  }

  function show() {
    const chat = session();
    const id = chat?.openPeer;
    if (!id || kindOf(id) !== "group") return;
    membersOf = id;
    el.membersError.textContent = "";
    el.membersAddInput.value = "";
    draw();
    if (!el.membersDialog.open) el.membersDialog.showModal();
    void chat.reloadMembers(id);
  }

  el.membersBtn.addEventListener("click", show);
  el.peerName.parentElement.addEventListener("click", show);
  el.membersClose.addEventListener("click", () => el.membersDialog.close());
  el.membersDialog.addEventListener("close", () => (membersOf = undefined));
  el.membersAdd.addEventListener("submit", (e) => {
    e.preventDefault();
    const { valid, invalid } = parseUserIds(el.membersAddInput.value);
    if (invalid.length) return void (el.membersError.textContent = `Not a user id: ${invalid.join(", ")}`);
    if (!valid.length) return void (el.membersError.textContent = "Type the user ids to add, comma separated.");
    void changeMembers("add", valid, el.membersAdd.querySelector("button"));
  });

  return {
    /** Redraws the dialog if it is open on group `id` (its members or its owner changed). */
    changed(id) {
      if (membersOf === id && el.membersDialog.open) draw();
    },
    close() {
      if (el.membersDialog.open) el.membersDialog.close();
      membersOf = undefined;
    },
  };
}
