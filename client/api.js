// The HTTP API of SPEC §8, called on the origin that served the page (every instance serves it).

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
  async function call(path) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    let res;
    try {
      res = await fetch(path, {
        method: "POST",
        cache: "no-store",
        signal: ctrl.signal,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
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
    /** One page of the two users' history: `{page, total, records, rows}` (page 1 newest, rows oldest first). */
    history: (me, peer, page, pageSize = 20) => call(`/chat/list/${enc(me)}/${enc(peer)}?page=${page}&pageSize=${pageSize}`),
    /** `{senderId: count}` of unread messages for `me`. */
    unreadCounts: (me) => call(`/chat/getMyUnReadCounts?myId=${enc(me)}`),
    /** Resets the unread counter of `peer`'s messages to `me`. */
    clearUnread: (me, peer) => call(`/chat/clearMyUnReadCounts?myId=${enc(me)}&oppositeId=${enc(peer)}`),
  };
}
