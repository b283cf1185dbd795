// The user's groups as the client knows them: listed from the server (on each connect, and when an
// unknown group id shows up), their members, and membership (a group the user left takes no message).
import { kindOf } from "./format.js";

/**
 * `stopped()` tells the session ended; `listed(id)` whether a conversation is in the list,
 * `touch(id)` lists it; `keys()` the conversation keys known (list and loaded); `left(id)` is called
 * when this user is no longer a member; `draw(id)` redraws.
 */
export function createGroups({ me, api, store, stopped, listed, touch, keys, left, draw }) {
  /** groupId -> `{groupId, name, ownerId, members?, left?, addedAt?}` */
  const groups = new Map(store.groups().map((g) => [g.groupId, g]));
  const tried = new Set(); // ids still unknown after a refresh: not asked about again
  let loading;
  let again = false;

  function save() {
    store.saveGroups([...groups.values()].map(({ addedAt, ...g }) => g));
  }

  /** This user is no longer a member of `id`. */
  function leave(id) {
    const g = groups.get(id);
    if (g) g.left = true;
    left(id);
  }

  /** Lists the user's groups again; a new one joins the conversation list, a missing one is left. */
  function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    const startedAt = Date.now();
    loading = (async () => {
      try {
        const list = await api.groups(me);
        if (stopped()) return;
        const seen = new Set();
        for (const g of list ?? []) {
          seen.add(g.groupId);
          groups.set(g.groupId, { ...groups.get(g.groupId), groupId: g.groupId, name: g.name, ownerId: g.ownerId, left: false });
          if (!listed(g.groupId)) touch(g.groupId);
        }
        for (const [id, g] of groups) if (!seen.has(id) && !g.left && !((g.addedAt ?? 0) > startedAt)) leave(id);
        for (const id of keys()) if (kindOf(id) === "group" && !groups.has(id)) tried.add(id);
        save();
        draw(undefined);
      } catch (err) {
        console.warn("the group list could not be loaded:", err.message);
      }
    })().finally(() => {
      loading = undefined;
      if (again) {
        again = false;
        void refresh();
      }
    });
    return loading;
  }

  /** Applies a group as the server returned it (`{groupId, name, ownerId, members}`). */
  function took(g, extra = {}) {
    const known = groups.get(g.groupId);
    const members = Array.isArray(g.members) ? g.members : known?.members;
    groups.set(g.groupId, { ...known, ...extra, groupId: g.groupId, name: g.name, ownerId: g.ownerId, members, left: members ? !members.includes(me) : !!known?.left });
    if (members && !members.includes(me)) leave(g.groupId);
    save();
    draw(g.groupId);
    return groups.get(g.groupId);
  }

  return {
    get: (id) => groups.get(id),
    refresh,
    /** A group id seen in a message, a count or a saved conversation: list the groups if it is new. */
    know(id) {
      if (groups.has(id) || tried.has(id)) return;
      tried.add(id);
      void refresh();
    },
    /** A group's name seen in the conversation list, before its members are loaded. */
    named(id, name) {
      const g = groups.get(id);
      if (name && (!g || g.name !== name)) groups.set(id, { ...g, groupId: id, name });
    },
    /** Creates a group of `me` and `members` (user ids); resolves the group, rejects with an ApiError. */
    async create(name, members) {
      return took(await api.createGroup(me, name, members.filter((u) => u !== me)), { addedAt: Date.now() });
    },
    /** Adds (`"add"`) or removes (`"remove"`) members of a group (its owner only); rejects with an ApiError. */
    async changeMembers(id, action, userIds) {
      took(await api.changeMembers(id, action, userIds));
    },
    async loadMembers(id) {
      try {
        took(await api.groupMembers(id));
      } catch (err) {
        if (err.status === 403 || err.status === 404) leave(id);
        else console.warn("the group's members could not be loaded:", err.message);
        draw(id);
      }
    },
    /** The header's line for a group: its members, or that this user left it. */
    subtitle(id) {
      const g = groups.get(id);
      const members = g?.members;
      const others = members?.filter((u) => u !== me);
      if (g?.left) return "You are not a member of this group";
      if (!others) return "Group";
      return [...others.slice(0, 12), ...(members.includes(me) ? ["You"] : [])].join(", ") + (others.length > 12 ? ` and ${others.length - 12} more` : "");
    },
  };
}
