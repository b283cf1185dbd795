// Replay bookkeeping and history: the newest message this user's client has seen (any tab), so that
// CONNECT_INIT asks the server to replay only what came after it, and the history pages of a
// conversation (page 1 on open and after a reconnect, older ones on demand) merged into it.
import { maxId } from "./format.js";

const PAGE_SIZE = 20;

/** `loaded(conv)` is told when page 1 came, `draw(peer, opts)` redraws, `notify(text)` shows a note. */
export function createReplay({ me, api, store, loaded, draw, notify }) {
  let lastMsgId = store.lastMsgId();

  function note(id) {
    if (!id || maxId(lastMsgId, id) === lastMsgId) return;
    lastMsgId = id;
    store.saveLastMsgId(id);
  }

  /** Merges history `rows` (oldest first) into `conv`; a first run starts its replay after the newest. */
  function merge(conv, rows) {
    for (const row of rows ?? []) conv.addStored(row);
    if (!lastMsgId && rows?.length) note(String(rows[rows.length - 1].msgId));
  }

  return {
    /** The msgId CONNECT_INIT names: the server replays the messages after it. */
    after: () => lastMsgId,
    /** A message was seen (live, replayed or acked). */
    note,

    /** Loads page 1 of `conv` (newest) again. */
    async loadNewest(conv) {
      if (conv.history !== "loaded") conv.history = "loading";
      draw(conv.peer);
      try {
        const data = await api.history(me, conv.peer, 1, PAGE_SIZE);
        merge(conv, data.rows);
        if (conv.nextPage === 1) {
          conv.nextPage = 2;
          conv.hasOlder = data.total > 1;
        }
        conv.history = "loaded";
        loaded(conv);
      } catch (err) {
        if (conv.history !== "loaded") conv.history = "failed";
        conv.historyError = err.message;
      }
      draw(conv.peer);
    },

    /** Loads the next older page of `conv`. */
    async loadOlder(conv) {
      if (conv.loadingOlder || !conv.hasOlder) return;
      conv.loadingOlder = true;
      draw(conv.peer);
      try {
        const data = await api.history(me, conv.peer, conv.nextPage, PAGE_SIZE);
        merge(conv, data.rows);
        conv.nextPage++;
        conv.hasOlder = conv.nextPage <= data.total;
      } catch (err) {
        notify(`Older messages could not be loaded: ${err.message}`);
      } finally {
        conv.loadingOlder = false;
      }
      draw(conv.peer, { anchorOlder: true });
    },
  };
}
