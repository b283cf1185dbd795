// A Jepsen-style history checker for chat under faults: it records every send, ack, error and
// delivery (by device and connection) with the fault in force, and judges them per fault: acked
// messages missing on a device that should have them (lost), deliveries nobody sent (phantom),
// duplicates before the client's dedupe by msgId, order per connection, and one clientMsgId acked
// with two msgIds (ackConflicts). Order is judged as a client with positions (feature "seq")
// presents messages, by position in each timeline: a message acked before another was sent must
// come first (orderViolations). How often a sender's messages merely arrived out of its send order
// (frames overtaking each other, replays) is counted apart (arrivalReorders).

export interface SendRecord {
  clientMsgId: string;
  sender: string;
  /** The device it was sent from (it never gets its own message back). */
  device: string;
  /** A user, or a group id. */
  to: string;
  /** Position in the sender's stream, for order checks. */
  seq: number;
  phase: string;
  msgId?: string;
  /** When it was first sent, and when its first ack came (ms). */
  sentAt?: number;
  ackedAt?: number;
}

export interface FaultRow {
  fault: string;
  sent: number;
  acked: number;
  errors: number;
  lost: number;
  phantom: number;
  duplicates: number;
  orderViolations: number;
  arrivalReorders: number;
  ackConflicts: number;
  notInStore: number;
  reconnects: number;
  /** Instances that exited on their own (not killed by the test). */
  crashes: number;
  /** Fewest instances in ZooKeeper's server-list while the fault lasted. */
  fewestListed: number | null;
  countsConvergedMs: number | null;
  routesConvergedMs: number | null;
}

interface DeviceState {
  user: string;
  /** msgId -> frames received (before dedupe). */
  got: Map<string, number>;
}

interface ConnState {
  device: string;
  seen: Set<string>;
  /** sender -> highest seq delivered on this connection. */
  lastSeq: Map<string, number>;
  /** Timeline -> the messages delivered with their position in it (what the client presents in that order). */
  presented: Map<string, Array<{ r: SendRecord; pos: number }>>;
}

export class Checker {
  private phaseName = "warm-up";
  private readonly sends = new Map<string, SendRecord>();
  private readonly byMsgId = new Map<string, SendRecord>();
  private readonly devices = new Map<string, DeviceState>();
  private readonly conns = new Map<string, ConnState>();
  private readonly members = new Map<string, string[]>();
  private readonly counters = new Map<string, { errors: number; phantom: number; duplicates: number; order: number; conflicts: number; reconnects: number }>();
  /** Messages the store did not hold when asked (by clientMsgId). */
  readonly notInStore = new Set<string>();
  readonly fewestListed = new Map<string, number>();
  readonly crashes = new Map<string, number>();
  private readonly phaseStarts = new Map<string, number>();
  readonly convergence = new Map<string, { counts: number | null; routes: number | null }>();
  /** What was judged phantom, for the report. */
  readonly phantoms: string[] = [];
  /** Timeline of connections and faults (ms since the epoch, text), for explaining a loss. */
  readonly events: Array<[number, string]> = [];

  /** Adds `text` to the timeline. */
  note(text: string): void {
    this.events.push([Date.now(), text]);
  }

  /** Starts attributing what follows to fault `name`. */
  phase(name: string): void {
    this.phaseName = name;
    this.phaseStarts.set(name, Date.now());
  }

  get currentPhase(): string {
    return this.phaseName;
  }

  private count(phase = this.phaseName) {
    let c = this.counters.get(phase);
    if (!c) this.counters.set(phase, (c = { errors: 0, phantom: 0, duplicates: 0, order: 0, conflicts: 0, reconnects: 0 }));
    return c;
  }

  device(id: string, user: string): void {
    this.devices.set(id, { user, got: new Map() });
  }

  group(groupId: string, members: string[]): void {
    this.members.set(groupId, members);
  }

  sent(r: Omit<SendRecord, "phase">, now = Date.now()): void {
    if (!this.sends.has(r.clientMsgId)) this.sends.set(r.clientMsgId, { sentAt: now, ...r, phase: this.phaseName });
  }

  acked(clientMsgId: string, msgId: string, now = Date.now()): void {
    const r = this.sends.get(clientMsgId);
    if (!r) return;
    if (r.msgId && r.msgId !== msgId) this.count(r.phase).conflicts++;
    r.msgId ??= msgId;
    r.ackedAt ??= now;
    this.byMsgId.set(msgId, r);
  }

  error(_code: string): void {
    this.count().errors++;
  }

  /** A connection of `device` opened: what arrives on it is judged from now. */
  connected(conn: string, device: string): void {
    this.conns.set(conn, { device, seen: new Set(), lastSeq: new Map(), presented: new Map() });
  }

  /** A device is live again after losing its connection. */
  reconnected(): void {
    this.count().reconnects++;
  }

  /**
   * A chat frame on connection `conn`; `body` is the clientMsgId the load put in `msg`; `seq` the
   * positions beside it (feature "seq").
   */
  delivered(conn: string, msgId: string, senderId: string, body: string, seq?: Record<string, number>): void {
    const c = this.conns.get(conn);
    const d = c && this.devices.get(c.device);
    if (!c || !d) return;
    const r = this.sends.get(body);
    if (!r || r.sender !== senderId || (r.msgId && r.msgId !== msgId)) {
      this.count().phantom++;
      this.phantoms.push(`${c.device} got ${msgId} from ${senderId} "${body.slice(0, 40)}"${r?.msgId ? ` (acked as ${r.msgId})` : ""}`);
      return;
    }
    if (!r.msgId) this.byMsgId.set(msgId, r); // delivered before its ack arrived
    const n = d.got.get(msgId) ?? 0;
    d.got.set(msgId, n + 1);
    if (n > 0) this.count(r.phase).duplicates++;
    if (c.seen.has(msgId)) return;
    c.seen.add(msgId);
    const timeline = this.members.has(r.to) ? r.to : d.user;
    const pos = seq?.[timeline];
    if (pos !== undefined) {
      let list = c.presented.get(timeline);
      if (!list) c.presented.set(timeline, (list = []));
      list.push({ r, pos });
    }
    const last = c.lastSeq.get(r.sender) ?? -1;
    if (r.seq < last) this.count(r.phase).order++;
    else c.lastSeq.set(r.sender, r.seq);
  }

  /** The timeline around what `missing` found: each lost message's time, and every connection event. */
  explain(phase: string, limit = 10): string {
    const lost = this.missing(phase).slice(0, limit);
    const at = (ms: number) => new Date(ms).toISOString().slice(11, 23);
    const lines = lost.map(({ r, device }) => `${at(Number(BigInt(r.msgId!) >> 22n) + 1577836800000)} ${r.clientMsgId} (${r.msgId}) missing on ${device}`);
    const devices = new Set(lost.map((m) => m.device));
    const since = this.phaseStarts.get(phase) ?? 0;
    const events = this.events.filter(([ms, t]) => ms >= since && (t.startsWith("host ") || devices.has(t.split("/")[0])));
    return [...lines, "--", ...events.map(([ms, t]) => `${at(ms)} ${t}`)].join("\n");
  }

  /** The devices that must get `r`: every device of its receivers, and the sender's other ones. */
  recipients(r: SendRecord): string[] {
    const users = new Set(this.members.get(r.to) ?? [r.to]);
    users.add(r.sender);
    return [...this.devices].filter(([id, d]) => users.has(d.user) && id !== r.device).map(([id]) => id);
  }

  /** Acked messages of `phase` some device has not got. */
  missing(phase?: string): Array<{ r: SendRecord; device: string }> {
    const out: Array<{ r: SendRecord; device: string }> = [];
    for (const r of this.sends.values()) {
      if (!r.msgId || (phase && r.phase !== phase)) continue;
      for (const dev of this.recipients(r)) if (!this.devices.get(dev)!.got.has(r.msgId)) out.push({ r, device: dev });
    }
    return out;
  }

  unacked(phase?: string): number {
    let n = 0;
    for (const r of this.sends.values()) if (!r.msgId && (!phase || r.phase === phase)) n++;
    return n;
  }

  /** Every acked message, for the store check. */
  ackedSends(phase?: string): SendRecord[] {
    return [...this.sends.values()].filter((r) => r.msgId && (!phase || r.phase === phase));
  }

  /**
   * Messages of `phase` a client presenting by position shows after one of the same sender that
   * was sent only after it had been acked.
   */
  presentationViolations(phase: string): number {
    let n = 0;
    for (const c of this.conns.values()) {
      for (const list of c.presented.values()) {
        const latestSent = new Map<string, number>(); // sender -> latest sentAt among those presented so far
        for (const { r } of list.toSorted((x, y) => x.pos - y.pos)) {
          const before = latestSent.get(r.device) ?? -Infinity;
          if (r.ackedAt !== undefined && before > r.ackedAt && r.phase === phase) n++;
          latestSent.set(r.device, Math.max(before, r.sentAt ?? -Infinity));
        }
      }
    }
    return n;
  }

  row(phase: string): FaultRow {
    const all = [...this.sends.values()].filter((r) => r.phase === phase);
    const c = this.count(phase);
    const conv = this.convergence.get(phase);
    return {
      fault: phase,
      sent: all.length,
      acked: all.filter((r) => r.msgId).length,
      errors: c.errors,
      lost: new Set(this.missing(phase).map((m) => m.r.clientMsgId)).size,
      phantom: c.phantom,
      duplicates: c.duplicates,
      orderViolations: this.presentationViolations(phase),
      arrivalReorders: c.order,
      ackConflicts: c.conflicts,
      notInStore: all.filter((r) => this.notInStore.has(r.clientMsgId)).length,
      reconnects: c.reconnects,
      crashes: this.crashes.get(phase) ?? 0,
      fewestListed: this.fewestListed.get(phase) ?? null,
      countsConvergedMs: conv?.counts ?? null,
      routesConvergedMs: conv?.routes ?? null,
    };
  }
}

/** Markdown table of `rows`, as kept in README. */
export function faultTable(rows: FaultRow[]): string {
  const cols = Object.keys(rows[0] ?? {}).filter((k) => k !== "fault") as Array<Exclude<keyof FaultRow, "fault">>;
  const lines = [`| fault | ${cols.join(" | ")} |`, `|---|${cols.map(() => "---:").join("|")}|`];
  for (const r of rows) lines.push(`| ${r.fault} | ${cols.map((k) => r[k] ?? "—").join(" | ")} |`);
  return lines.join("\n");
}
