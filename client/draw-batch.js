// Drawing once per burst of changes (a replay brings many messages at once): the conversations that
// changed are collected and drawn, with the list, on the next tick; the open one can be drawn at once.

const DRAW_BATCH_MS = 16;

/**
 * `openPeer()` is the conversation on screen and `drawOpen(opts)` draws it; `flush(changed)` draws
 * a burst, given the keys of the conversations that changed in it. Returns `draw(peer, opts)`.
 */
export function createDrawBatch({ openPeer, drawOpen, flush }) {
  const changed = new Set();
  let queued = false;

  /** Redraws `peer`'s conversation (if open) and the list soon; `opts` draws the open one now. */
  return function draw(peer, opts) {
    if (opts && peer === openPeer()) drawOpen(opts);
    else if (peer) changed.add(peer);
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      flush(changed);
      changed.clear();
    }, DRAW_BATCH_MS);
  };
}
