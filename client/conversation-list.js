// The conversation list's model: the user's conversations (peers, groups, and the System one),
// newest first, each with its last message and unread count. Page 1 comes from GET
// /chat/conversations on each connect, older pages on demand; live messages, sends and opens move a
// conversation up; the recent ones are kept in localStorage so the list shows before the server answers.
// Unread counts are the badges of unread-badges.js (the server's counters plus live counting).
import { SYSTEM, compareIds, formatChatTime, kindOf, previewOf } from "./format.js";
import { createUnreadBadges } from "./unread-badges.js";

const PAGE_SIZE = 20;
/** A live message on screen clears the server's counter after this (the server counts it asynchronously). */
const LIVE_CLEAR_DELAY_MS = 1500;

/**
 * `viewing(id)` tells whether that conversation is on screen; `row(row)` sees each server row (a
 * group's name); `changed()` asks for a redraw.
 */
export function createConversationList({ me, api, store, viewing, row: onRow, changed }) {
  /**
   * `[{id, preview, when, at, lastId}]` newest first; `at` orders them (the last message's chatTime,
   * or when it was touched), then `lastId` (the last message's msgId, once stored).
   */
  let entries = store.peers().map((p) => ({ ...p, at: p.at ?? p.when ?? "" }));
  if (!entries.some((p) => p.id === SYSTEM)) entries.push({ id: SYSTEM, preview: "", when: "", at: "" }); // always listed
  const badges = createUnreadBadges({ me, api, viewing });
  let nextPage = 1;
  let hasMore = false;
  let loading;
  let saved = true;

  /** The list's one-line preview of a message (`own` set): in a group, with who wrote it. */
  function previewLine(id, m) {
    if (kindOf(id) !== "group") return previewOf(m);
    return `${m.own ? "You" : m.senderId}: ${previewOf(m)}`;
  }

  /** Newest first: chatTimes have whole seconds, so within one the newer last msgId; else as they were (a bumped entry first). */
  function sort() {
    entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.lastId && b.lastId ? compareIds(b.lastId, a.lastId) : 0));
    saved = false;
  }

  /**
   * Keeps `id` listed with its newest message `last` (if known); `bump` moves it up as of now (a
   * message, a send, an open), otherwise it keeps its place.
   */
  function touch(id, last, bump) {
    const i = entries.findIndex((p) => p.id === id);
    const old = entries[i];
    if (last?.msgId && old?.lastId && compareIds(String(last.msgId), old.lastId) < 0) {
      // The list knows a newer message than `last` (one the server's catch-up sent again): no change.
      last = undefined;
      bump = false;
    }
    const when = last?.chatTime ?? old?.when ?? "";
    const entry = { id, preview: last ? previewLine(id, last) : old?.preview ?? "", when, at: old?.at ?? when };
    const lastId = last ? last.msgId : old?.lastId;
    if (lastId) entry.lastId = String(lastId);
    if (bump) entry.at = last?.chatTime || formatChatTime(new Date());
    if (when > entry.at) entry.at = when;
    if (i >= 0 && !bump) entries[i] = entry;
    else if (bump) entries = [entry, ...entries.filter((p) => p.id !== id)];
    else entries.push(entry);
    sort();
  }

  /** Loads page `page` of the server's list and merges it (a row newer than what is known here wins); resolves whether it came. */
  function load(page) {
    if (loading) return loading.then(() => load(page));
    loading = (async () => {
      try {
        const data = await api.conversations(me, page, PAGE_SIZE);
        for (const r of data?.rows ?? []) {
          onRow(r);
          const old = entries.find((p) => p.id === r.conversationId);
          const newer = !old || !old.when || (old.lastId ? compareIds(String(r.lastMsg.msgId), old.lastId) > 0 : r.lastTime > old.at);
          if (newer) touch(r.conversationId, { ...r.lastMsg, own: r.lastMsg.senderId === me }, false);
          // Page 1's counts come with getMyUnReadCounts on each connect; an older page brings its own.
          if (page > 1 && r.unread > 0 && !badges.counts.has(r.conversationId) && !viewing(r.conversationId)) badges.counts.set(r.conversationId, r.unread);
        }
        if (page >= nextPage) nextPage = page + 1;
        hasMore = (data?.total ?? 0) >= nextPage;
        return true;
      } catch (err) {
        console.warn("the conversation list could not be loaded:", err.message);
        return false;
      } finally {
        loading = undefined;
        changed();
      }
    })();
    changed();
    return loading;
  }

  return {
    /** The conversations, newest first. */
    entries: () => entries,
    has: (id) => entries.some((p) => p.id === id),
    /** Conversation id -> unread count. */
    counts: badges.counts,
    /** Paging: whether older conversations remain on the server, whether a page is loading. */
    paging: () => ({ hasMore, loading: !!loading }),
    touch,
    /**
     * Message `m` (`own` set) arrived in `id` (`last`: its newest now): it moves up, and counts as
     * unread if live and not on screen.
     */
    message(id, m, last, live) {
      const listedId = entries.find((p) => p.id === id)?.lastId;
      touch(id, last, true);
      // Replayed messages (before the CONNECT_INIT ack) are in the server's counts fetched after it,
      // and so are those the list already had (the server's catch-up sends a new connection the
      // last seconds' messages again).
      const counted = !live || (listedId && compareIds(String(m.msgId), listedId) <= 0);
      if (!m.own && viewing(id)) badges.clear(id, LIVE_CLEAR_DELAY_MS);
      else if (!m.own && !counted) badges.add(id, m.msgId);
    },
    /** Clears `id`'s unread count here and on the server (it was opened or is on screen). */
    clear: (id) => badges.clear(id),
    /**
     * After a (re)connect: page 1 again, then the server's unread counts; resolves the ids with
     * unread messages. A conversation with unread messages is on some page of the server's list;
     * when that list could not be read, it is listed at the top instead.
     */
    async reload() {
      const listed = await load(1);
      const unread = await badges.refresh();
      if (!listed) for (const id of unread) if (!entries.some((p) => p.id === id)) touch(id, undefined, true);
      changed();
      return unread;
    },
    /** Loads the next older page, if any. */
    more: () => (hasMore && !loading ? load(nextPage) : loading),
    /** Saves the recent conversations if they changed (once per redraw). */
    save() {
      if (saved) return;
      store.savePeers(entries);
      saved = true;
    },
    stop: () => badges.stop(),
  };
}
