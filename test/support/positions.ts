// A client's positions in its timelines (feature "seq", README): per timeline the highest position
// it holds with none missing below, and the positions above it it holds already. What it sends in
// CONNECT_INIT's "seqs"; a gap that stays open tells it to replay.

export class Positions {
  /** Highest position held with none missing below, per timeline (absent: not known yet). */
  private readonly base = new Map<string, number>();
  /** Positions held above the base (or, before the base is known, all held), with when the first arrived. */
  private readonly above = new Map<string, { held: Set<number>; since: number }>();

  constructor(private readonly mine: (timeline: string) => boolean) {}

  /** Records the positions a frame or an ack carried (only this client's own timelines count). */
  record(seq: Record<string, number> | undefined, now = Date.now()): void {
    for (const [t, n] of Object.entries(seq ?? {})) {
      if (!this.mine(t)) continue;
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
   */
  started(tops: Record<string, number> | undefined, now = Date.now()): void {
    for (const a of this.above.values()) a.since = now;
    for (const [t, top] of Object.entries(tops ?? {})) {
      if (this.base.has(t) || !this.mine(t)) continue;
      this.base.set(t, top);
      this.absorb(t);
    }
  }

  private absorb(t: string): void {
    const a = this.above.get(t);
    let base = this.base.get(t);
    if (!a || base === undefined) return;
    for (const n of a.held) if (n <= base) a.held.delete(n);
    while (a.held.delete(base + 1)) base++;
    this.base.set(t, base);
    if (a.held.size === 0) this.above.delete(t);
  }

  /** What CONNECT_INIT's "seqs" gives. */
  held(): Record<string, number> {
    return Object.fromEntries(this.base);
  }

  /** The oldest open gap's age in ms (0: none): a gap open longer than live delivery takes is a miss. */
  gapAge(now = Date.now()): number {
    let oldest = now;
    for (const [t, a] of this.above) if (this.base.has(t)) oldest = Math.min(oldest, a.since);
    return now - oldest;
  }
}
