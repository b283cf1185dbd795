// Read state of group conversations (the server's "reads" feature, declared at CONNECT_INIT): each
// member's read position, "read by …" under the user's own messages, and marking a group read
// when the user views it.
import { compareIds } from "./format.js";

/** Up to this many readers are named; more are counted ("read by 4 of 6"). */
const NAMES_SHOWN = 3;
/** Members one read-state request asks for (the route's largest page). */
const MEMBERS_PAGE = 200;

/**
 * `send(frame)` sends on the live socket (false when there is none); `readState(groupId, pageSize)`
 * resolves the server's read-state page `{records, rows:[{userId, msgId}]}`; `changed(groupId)`
 * redraws a group whose read state changed.
 */
export function createGroupReads({ me, send, readState, changed }) {
  /** groupId -> {positions: Map(userId -> msgId), members: number (all, me included)} */
  const groups = new Map();
  /** groupId -> the newest msgId this connection marked read */
  const marked = new Map();
  const loading = new Map();

  function stateOf(groupId) {
    let s = groups.get(groupId);
    if (!s) groups.set(groupId, (s = { positions: new Map(), members: 0 }));
    return s;
  }

  /** Moves `userId`'s position forward only (frames and loads may come in any order); true when it moved. */
  function advance(groupId, userId, msgId) {
    const { positions } = stateOf(groupId);
    const at = positions.get(userId);
    if (at && compareIds(at, msgId) >= 0) return false;
    positions.set(userId, msgId);
    return true;
  }

  return {
    /** Loads the positions of `groupId`'s members (on opening it, and again once a new connection is live). */
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
          changed(groupId);
        })
        .catch(() => {}) // not a member any more, or the server is away: the labels stay as they were
        .finally(() => loading.delete(groupId));
      loading.set(groupId, work);
      return work;
    },

    /** A new connection went live: what it marks is sent again (the server ignores what it has). */
    onLive() {
      marked.clear();
    },

    /** A read receipt from the server; true when `f` was one. */
    onFrame(f) {
      if (!f.read) return false;
      const { receiverId, readerId, msgId } = f.read;
      if (advance(receiverId, readerId, msgId)) changed(receiverId);
      return true;
    },

    /** The user views `groupId`, whose newest message is `newestMsgId`: marks it read there, once. */
    viewed(groupId, newestMsgId) {
      if (!newestMsgId) return;
      const done = marked.get(groupId);
      if (done && compareIds(done, newestMsgId) >= 0) return;
      if (send({ read: { receiverId: groupId, msgId: newestMsgId, clientMsgId: `read-${newestMsgId}` } })) {
        marked.set(groupId, newestMsgId);
        advance(groupId, me, newestMsgId);
      }
    },

    /** Under the user's own message `msg` of `groupId`: "read by bob, carol", "read by 4 of 6", or "". */
    label(groupId, msg) {
      const s = groups.get(groupId);
      if (!s || msg.senderId !== me || !msg.msgId) return "";
      const readers = [];
      for (const [userId, at] of s.positions) if (userId !== me && at && compareIds(at, msg.msgId) >= 0) readers.push(userId);
      if (readers.length === 0) return "";
      const others = Math.max(s.members - 1, readers.length);
      if (readers.length <= NAMES_SHOWN) return `read by ${readers.sort().join(", ")}`;
      return `read by ${readers.length} of ${others}`;
    },
  };
}
