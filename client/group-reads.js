// Read state of group conversations (the server's "reads" feature, declared at CONNECT_INIT): each
// member's read position (from GET …/read-state, then the "read" receipts), "read by …" under the
// user's own messages, and marking a group read while the user views it.
import { compareIds, maxId } from "./format.js";

/** Up to this many readers are named; more are counted ("read by 4 of 6"). */
const NAMES_SHOWN = 3;
/** Members one read-state request asks for (the route's largest page). */
const MEMBERS_PAGE = 200;

/**
 * `send(frame)` sends on the live socket (false when there is none); `readState(groupId, pageSize)`
 * resolves the server's read-state page `{records, rows:[{userId, msgId}]}`; `messagesOf(groupId)`
 * lists a group's loaded messages; `draw(groupId)` redraws it.
 */
export function createGroupReads({ me, send, readState, messagesOf, draw }) {
  /** groupId -> {positions: Map(userId -> msgId | undefined), members: number (me included)} */
  const groups = new Map();
  /** groupId -> the newest msgId this connection marked read */
  const marked = new Map();
  const loading = new Map();

  function stateOf(groupId) {
    let s = groups.get(groupId);
    if (!s) groups.set(groupId, (s = { positions: new Map(), members: 0 }));
    return s;
  }

  /** Moves `userId`'s position forward only (receipts and loads may come in any order); true when it moved. */
  function advance(groupId, userId, msgId) {
    const { positions } = stateOf(groupId);
    const at = positions.get(userId);
    if (at && compareIds(at, msgId) >= 0) return false;
    positions.set(userId, msgId);
    return true;
  }

  /** "read by bob, carol", "read by 4 of 6", or "" under own message `m` of a group. */
  function label(m) {
    const s = m.own && m.msgId ? groups.get(m.receiverId) : undefined;
    if (!s) return "";
    const readers = [];
    for (const [userId, at] of s.positions) if (userId !== me && at && compareIds(at, m.msgId) >= 0) readers.push(userId);
    if (readers.length === 0) return "";
    if (readers.length <= NAMES_SHOWN) return `read by ${readers.sort().join(", ")}`;
    return `read by ${readers.length} of ${Math.max(s.members - 1, readers.length)}`;
  }

  /** Redraws the own messages of `groupId` whose label changed (the view redraws an element whose `rev` changed). */
  function relabel(groupId) {
    let any = false;
    for (const m of messagesOf(groupId)) {
      const l = label(m);
      if (!m.own || l === (m.readBy ?? "")) continue;
      m.readBy = l;
      m.rev = (m.rev ?? 0) + 1;
      any = true;
    }
    if (any) draw(groupId);
  }

  return {
    label,

    /** Loads the positions of `groupId`'s members (on opening it, and again on each new connection). */
    refresh(groupId) {
      if (loading.has(groupId)) return loading.get(groupId);
      const work = readState(groupId, MEMBERS_PAGE)
        .then((page) => {
          const s = stateOf(groupId);
          s.members = page.records;
          for (const row of page.rows) {
            if (!s.positions.has(row.userId)) s.positions.set(row.userId, undefined);
            if (row.msgId) advance(groupId, row.userId, row.msgId);
          }
          relabel(groupId);
        })
        .catch(() => {}) // not a member any more, or the server is away: the labels stay as they were
        .finally(() => loading.delete(groupId));
      loading.set(groupId, work);
      return work;
    },

    /** A new connection went live: marks are sent again (the server ignores what it has); `open` is reloaded. */
    onLive(open) {
      marked.clear();
      if (groups.has(open)) void this.refresh(open);
    },

    /** A read receipt `{receiverId, readerId, msgId}` from the server. */
    onReceipt({ receiverId, readerId, msgId }) {
      if (receiverId && readerId && msgId && advance(receiverId, readerId, msgId)) relabel(receiverId);
    },

    /** The user views group conversation `conv`: marks it read up to its newest stored message, once each. */
    viewed(conv) {
      if (conv.kind !== "group") return;
      let newest;
      for (const id of conv.byMsgId.keys()) newest = maxId(newest, id);
      const done = marked.get(conv.peer);
      if (!newest || (done && compareIds(done, newest) >= 0)) return;
      if (send({ read: { receiverId: conv.peer, msgId: newest, clientMsgId: `read-${newest}` } })) marked.set(conv.peer, newest);
    },
  };
}

/** Shows `text` ("read by …") under a message element, or removes it when empty. */
export function showReadBy(li, text) {
  let el = li.querySelector(".read-by");
  if (!text) return void el?.remove();
  if (!el) {
    el = document.createElement("div");
    el.className = "read-by";
    li.append(el);
  }
  el.textContent = text;
}
