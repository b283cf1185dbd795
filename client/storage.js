// What the client keeps in the browser: per user in localStorage (recent peers, last msgId seen),
// the user's groups and group read receipts, per tab in sessionStorage (who is signed in, the open conversation, unsent messages).
import { maxId } from "./format.js";

const MAX_PEERS = 50;
const MAX_GROUP_READS = 2000;

function read(store, key, fallback) {
  try {
    const text = store.getItem(key);
    return text == null ? fallback : JSON.parse(text);
  } catch {
    return fallback;
  }
}

function write(store, key, value) {
  try {
    if (value === undefined || value === null) store.removeItem(key);
    else store.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled (private mode): the client keeps working from memory.
  }
}

/** This tab's session: `{userId, token}` or undefined. */
export const session = {
  get: () => read(sessionStorage, "im.session", undefined),
  set: (s) => write(sessionStorage, "im.session", s),
  /** The last user id signed in on this browser, to prefill the login box. */
  lastUserId: () => read(localStorage, "im.lastUserId", ""),
  rememberUserId: (id) => write(localStorage, "im.lastUserId", id),
};

/** Storage of one user's data. */
export function userStore(userId) {
  const k = (name) => `im.${encodeURIComponent(userId)}.${name}`;
  return {
    /** Recent peers, most recent first: `[{id, preview, when}]`. */
    peers: () => read(localStorage, k("peers"), []),
    savePeers: (list) => write(localStorage, k("peers"), list.slice(0, MAX_PEERS)),

    /** The user's groups as last listed: `[{groupId, name, ownerId, members?, left?}]`. */
    groups: () => read(localStorage, k("groups"), []),
    saveGroups: (list) => write(localStorage, k("groups"), list),

    /**
     * Group messages known read: own ones a member signed and others' this user signed (the server
     * keeps no read state for group messages). The newest MAX_GROUP_READS msgIds.
     */
    groupReads: () => read(localStorage, k("groupReads"), []),
    addGroupReads: (ids) => {
      const list = read(localStorage, k("groupReads"), []);
      const next = [...list.filter((id) => !ids.includes(id)), ...ids];
      write(localStorage, k("groupReads"), next.slice(-MAX_GROUP_READS));
    },

    /** The largest msgId this user's client has seen (any tab). */
    lastMsgId: () => read(localStorage, k("lastMsgId"), undefined),
    saveLastMsgId: (id) => write(localStorage, k("lastMsgId"), maxId(read(localStorage, k("lastMsgId"), undefined), id)),

    /** This tab's positions in the user's timelines (feature "seq"): `{timelineId: position}`. */
    positions: () => read(sessionStorage, k("positions"), {}),
    savePositions: (held) => write(sessionStorage, k("positions"), held),

    /** The conversation open in this tab. */
    openPeer: () => read(sessionStorage, k("openPeer"), undefined),
    saveOpenPeer: (peer) => write(sessionStorage, k("openPeer"), peer),

    /** Messages of this tab not acknowledged yet: `[{clientMsgId, receiverId, msg, msgType, chatTime}]`. */
    outbox: () => read(sessionStorage, k("outbox"), []),
    saveOutbox: (list) => write(sessionStorage, k("outbox"), list),
  };
}
