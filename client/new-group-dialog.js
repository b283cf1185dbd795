// The new-group dialog: a group's name and members, checked here, then created and opened.
import { parseUserIds } from "./format.js";

/** Wires the dialog's elements of `el` (the page's, app.js); `chat()` is the signed-in session, if any. */
export function createNewGroupDialog({ el, chat: session }) {
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
    const chat = session();
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

  return {
    close() {
      if (el.groupDialog.open) el.groupDialog.close();
    },
  };
}
