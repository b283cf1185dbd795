// A client's positions in its timelines (feature "seq", README "Replay by position"): per timeline
// (its own user id, each group id, "*" for broadcasts) the highest position it holds with none
// missing below, and the positions it holds above that. CONNECT_INIT's "seqs" replays after them;
// a gap that stays open means a frame was routed nowhere: reconnect and replay. Used by the
// browser client and by the test clients (test/support/host-load.ts).

export class Positions {
  /** @param {(timeline: string) => boolean} mine which timelines are this client's */
  constructor(mine, held = {}) {
    this.mine = mine;
    /** @type {Map<string, number>} highest position held with none missing below (absent: not known yet) */
    this.base = new Map(Object.entries(held));
    /** @type {Map<string, {held: Set<number>, since: number}>} positions held above the base, and since when */
    this.above = new Map();
  }

  /**
   * Records the positions a frame or an ack carried (only this client's timelines count).
   * @param {Record<string, number> | undefined} seq
   */
  record(seq, now = Date.now()) {
    for (const [t, n] of Object.entries(seq ?? {})) {
      if (!this.mine(t) || !Number.isSafeInteger(n)) continue;
      const base = this.base.get(t);
      if (base !== undefined && n <= base) continue;
      let a = this.above.get(t);
      if (!a) this.above.set(t, (a = { held: new Set(), since: now }));
      a.held.add(n);
      this.absorb(t);
    }
  }

  /**
   * CONNECT_INIT's ack: each timeline's last position; a timeline not known until now starts there.
   * The gaps still open are timed again from now (the replay came before the ack).
   * @param {Record<string, number> | undefined} tops
   */
  started(tops, now = Date.now()) {
    for (const a of this.above.values()) a.since = now;
    for (const [t, top] of Object.entries(tops ?? {})) {
      if (this.base.has(t) || !this.mine(t)) continue;
      this.base.set(t, top);
      this.absorb(t);
    }
  }

  /** @param {string} t */
  absorb(t) {
    const a = this.above.get(t);
    let base = this.base.get(t);
    if (!a || base === undefined) return;
    for (const n of a.held) if (n <= base) a.held.delete(n);
    while (a.held.delete(base + 1)) base++;
    this.base.set(t, base);
    if (a.held.size === 0) this.above.delete(t);
  }

  /** What CONNECT_INIT's "seqs" gives. @returns {Record<string, number>} */
  held() {
    return Object.fromEntries(this.base);
  }

  /** The oldest open gap's age in ms (0: none): a gap open longer than live delivery takes is a miss. */
  gapAge(now = Date.now()) {
    let oldest = now;
    for (const [t, a] of this.above) if (this.base.has(t)) oldest = Math.min(oldest, a.since);
    return now - oldest;
  }
}
