// The HTTP API of SPEC §8 (and the group routes), called on the origin that served the page (every
// instance serves it).

/** A failed API call; `status` is 0 when the server could not be reached at all. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

const enc = encodeURIComponent;

/** Creates the API client; `token` (when the server has AUTH_SECRET) goes in an Authorization header. */
export function createApi({ token = "", timeoutMs = 5000 } = {}) {
  /** Calls `path` (POST unless told); `json` is sent as the body. Resolves the GraceJSONResult's `data`. */
  async function call(path, { method = "POST", json } = {}) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method,
        cache: "no-store",
        signal: ctrl.signal,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
      });
    } catch {
      throw new ApiError(ctrl.signal.aborted ? "the server did not answer in time" : "the server is unreachable", 0);
    } finally {
      clearTimeout(timer);
    }
    const body = await res.json().catch(() => null);
    if (!res.ok || !body || body.success === false) throw new ApiError(body?.msg || `HTTP ${res.status}`, res.status);
    return body.data;
  }

  return {
    /** The least-loaded live instance: `{ip, port, onlineCounts}`. */
    onlineInfo: () => call("/chat/getNettyOnlineInfo"),
    /**
     * One page of a conversation's history: `{page, total, records, rows}` (page 1 newest, rows oldest
     * first). `peer` is a user id, a group id (the group's messages) or "system" (the broadcasts).
     */
    history: (me, peer, page, pageSize = 20) => call(`/chat/list/${enc(me)}/${enc(peer)}?page=${page}&pageSize=${pageSize}`),
    /** `{senderId: count}` of unread messages for `me` (a group's under its group id). */
    unreadCounts: (me) => call(`/chat/getMyUnReadCounts?myId=${enc(me)}`),
    /** Resets the unread counter of `peer`'s (or a group's) messages to `me`. */
    clearUnread: (me, peer) => call(`/chat/clearMyUnReadCounts?myId=${enc(me)}&oppositeId=${enc(peer)}`),
    /**
     * One page of `me`'s conversations, newest first: `{page, total, records, rows: [{conversationId,
     * type (1 peer, 2 group), lastMsg, lastTime, unread, name (groups)}]}`.
     */
    conversations: (me, page, pageSize = 20) => call(`/chat/conversations?userId=${enc(me)}&page=${page}&pageSize=${pageSize}`, { method: "GET" }),
    /** The groups `me` belongs to: `[{groupId, name, ownerId}]`. */
    groups: (me) => call(`/chat/group/list?userId=${enc(me)}`),
    /** Creates a group owned by `me` (the token's user, with AUTH_SECRET): `{groupId, name, ownerId, members}`. */
    createGroup: (me, name, members) => call("/chat/group/create", { json: { name, members, ownerId: me } }),
    /** A group and its member ids: `{groupId, name, ownerId, members}`. */
    groupMembers: (groupId) => call(`/chat/group/${enc(groupId)}/members`, { method: "GET" }),
    /** Adds (`add`) or removes (`remove`) members; the owner's right. Resolves the group with its members. */
    changeMembers: (groupId, action, userIds) => call(`/chat/group/${enc(groupId)}/members/${action === "add" ? "add" : "remove"}`, { json: { userIds } }),
    /** Each member's read position and unread count in a group: `{records, rows:[{userId, msgId, unread}]}` (members only). */
    readState: (me, groupId, pageSize = 200) => call(`/chat/group/${enc(groupId)}/read-state?userId=${enc(me)}&pageSize=${pageSize}`, { method: "GET" }),
  };
}
