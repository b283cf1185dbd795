// Steady chat load on a host cluster, by clients that behave as README asks: on close they wait
// with full jitter, ask getNettyOnlineInfo, connect, send CONNECT_INIT replaying after the positions
// they hold in their timelines (feature "seq"; and from the highest msgId seen minus 10 s for a
// timeline they hold none of), reconnect when a gap in a timeline stays open, and resend every
// unacked message with its clientMsgId. Every send, ack, error and delivery goes to a Checker.
import type { Checker } from "./checker.ts";
import { Positions } from "../../client/positions.js";

/** Snowflake ids carry ms in the bits above 22: this many ms back is `ms << 22`. */
const REPLAY_MARGIN = 10_000n << 22n;
/** An unacked message is sent again after this long on a live connection. */
const RESEND_AFTER_MS = 4000;
/** A gap in a timeline open this long is a miss, not frames overtaking each other: reconnect and replay. */
const GAP_REPLAY_MS = 3000;

export interface Instance {
  ip: string;
  port: number;
}

interface Pending {
  frame: string;
  sentAt: number;
}

/** One device of a user: one WebSocket at a time, reconnected until `stop()`. */
export class Device {
  ws: WebSocket | undefined;
  /** `<ip>_<port>` of the instance it is live on, undefined while reconnecting. */
  instance: string | undefined;
  private conns = 0;
  private maxSeen = 0n;
  private readonly positions: Positions;
  private seq = 0;
  private stopped = false;
  private readonly unacked = new Map<string, Pending>();
  /** Where the next reconnect goes instead of asking getNettyOnlineInfo (see `moveTo`). */
  private target: Instance | undefined;
  private moving = false;

  constructor(
    readonly id: string,
    readonly user: string,
    /** The host it starts on, and is moved back to between faults. */
    readonly home: number,
    private readonly checker: Checker,
    /** HTTP origins of the instances to ask getNettyOnlineInfo, tried in a random order. */
    private readonly origins: () => string[],
  ) {
    checker.device(id, user);
    this.positions = new Positions((t) => t === user || t.startsWith("group:") || t === "*");
  }

  /** First connection straight to `at`; resolves once live. */
  async start(at: Instance): Promise<void> {
    if (!(await this.open(at))) throw new Error(`${this.id} could not connect to ${at.ip}:${at.port}`);
  }

  private async pick(): Promise<Instance | undefined> {
    const origins = [...this.origins()].sort(() => Math.random() - 0.5);
    for (const origin of origins) {
      try {
        const res = await fetch(`${origin}/chat/getNettyOnlineInfo`, { method: "POST", signal: AbortSignal.timeout(1000) });
        if (res.ok) return ((await res.json()) as { data: Instance }).data;
      } catch {}
    }
    return undefined;
  }

  /** Opens a connection and sends CONNECT_INIT; true once its ack came (within 5 s). */
  private open(at: Instance): Promise<boolean> {
    return new Promise((resolve) => {
      const conn = `${this.id}/${this.conns++}`;
      const ws = new WebSocket(`ws://${at.ip}:${at.port}/ws`);
      let live = false;
      const timer = setTimeout(() => (live ? undefined : ws.close()), 5000);
      ws.onopen = () => {
        this.checker.connected(conn, this.id); // replayed frames come before the ack
        const replayFrom = this.maxSeen > REPLAY_MARGIN ? (this.maxSeen - REPLAY_MARGIN).toString() : undefined;
        const seqs = this.positions.held();
        const replay = { ...(replayFrom ? { msgId: replayFrom } : {}) };
        ws.send(JSON.stringify({ chatMsg: { senderId: this.user, msgType: 0, clientMsgId: `init:${conn}`, ...replay }, features: ["seq"], ...(Object.keys(seqs).length ? { seqs } : {}) }));
      };
      ws.onmessage = (e) => {
        const f = JSON.parse(String(e.data));
        if (f.ack?.clientMsgId === `init:${conn}`) {
          live = true;
          clearTimeout(timer);
          this.ws = ws;
          this.instance = `${at.ip}_${at.port}`;
          this.checker.note(`${conn} live`);
          if (this.conns > 1 && !this.moving) this.checker.reconnected();
          this.moving = false;
          if (f.ack.replayed !== undefined) this.checker.note(`${conn} on ${this.instance} replayed ${f.ack.replayed} recovered ${f.ack.recovered}`);
          this.positions.started(f.ack.seqs); // a gap the replay did not fill is given GAP_REPLAY_MS again
          for (const [, p] of this.unacked) (p.sentAt = Date.now()), ws.send(p.frame);
          return resolve(true);
        }
        if (f.ack) {
          this.checker.acked(f.ack.clientMsgId, f.ack.msgId);
          this.unacked.delete(f.ack.clientMsgId);
          this.positions.record(f.ack.seq);
        } else if (f.error) {
          this.checker.error(f.error.code);
          const p = f.error.clientMsgId && this.unacked.get(f.error.clientMsgId);
          if (p) p.sentAt = Date.now() - RESEND_AFTER_MS + 500; // try again in half a second
        } else if (f.chatMsg?.msgId && f.chatMsg.msgType !== 8 && f.chatMsg.msgType !== 0) {
          const m = f.chatMsg;
          const id = BigInt(m.msgId);
          if (id > this.maxSeen) this.maxSeen = id;
          this.positions.record(f.seq);
          this.checker.delivered(conn, m.msgId, m.senderId, String(m.msg), f.seq);
        }
      };
      ws.onclose = (e) => {
        clearTimeout(timer);
        if (live) this.checker.note(`${conn} closed ${e.code}`);
        if (!live) return resolve(false);
        if (this.ws !== ws) return;
        this.ws = undefined;
        this.instance = undefined;
        if (!this.stopped) void this.reconnect();
      };
    });
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      // Full jitter as README says, on a scale of tests: base 100 ms, cap 2 s (browsers: 500 ms, 10 s).
      await Bun.sleep(Math.random() * Math.min(2000, 100 * 2 ** attempt));
      const at = this.target ?? (await this.pick());
      this.target = undefined;
      if (at && !this.stopped && (await this.open(at))) return;
    }
  }

  /** Reconnects to `at` (as after a close: replay, resends); resolves once live there or after 10 s. */
  async moveTo(at: Instance): Promise<void> {
    const want = `${at.ip}_${at.port}`;
    if (this.instance === want || !this.ws) return;
    this.target = at;
    this.moving = true;
    this.ws.close();
    for (const end = Date.now() + 10_000; this.instance !== want && Date.now() < end; ) await Bun.sleep(20);
  }

  /** Sends a text message to `to` (a user, or a group with `group`), held until acked. */
  send(to: string, group = false): void {
    const clientMsgId = `${this.id}#${this.seq}`;
    this.checker.sent({ clientMsgId, sender: this.user, device: this.id, to, seq: this.seq++ });
    const chatMsg = { senderId: this.user, receiverId: to, msg: clientMsgId, msgType: 1, clientMsgId, ...(group ? { communicationType: 2 } : {}) };
    const p = { frame: JSON.stringify({ chatMsg }), sentAt: Date.now() };
    this.unacked.set(clientMsgId, p);
    this.ws?.send(p.frame);
  }

  /** Sends again what waited too long for its ack (the server dedupes by clientMsgId); replays a gap left open. */
  resendStale(): void {
    if (!this.ws) return;
    if (this.positions.gapAge() >= GAP_REPLAY_MS) {
      this.checker.note(`${this.id} replays a gap open ${this.positions.gapAge()} ms`);
      return this.ws.close(); // the reconnect replays after the positions held
    }
    const now = Date.now();
    for (const p of this.unacked.values()) if (now - p.sentAt >= RESEND_AFTER_MS) (p.sentAt = now), this.ws.send(p.frame);
  }

  get pending(): number {
    return this.unacked.size;
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
  }
}

export interface HostLoadOptions {
  /** Prefix of every user id (unique per run). */
  tag: string;
  hosts: number;
  /** The instance of host `h` now (for first connections). */
  instanceOn(host: number): Instance;
  /** HTTP origins of the live instances. */
  origins(): string[];
  /** Makes a group and returns its id. */
  createGroup(name: string, members: string[]): Promise<string>;
  checker: Checker;
  pairs?: number;
  /** Each user of a pair sends one message per tick: 500 ms is 4 msg/s per pair. */
  tickMs?: number;
}

export interface HostLoad {
  readonly devices: Device[];
  readonly users: string[];
  /** Stops or starts sending (devices stay connected). */
  pause(): void;
  resume(): void;
  stop(): void;
}

/**
 * Pairs a_i ↔ b_i on hosts i and i+1, both sending; b_0..b_2 with a second device on host i+2; a
 * group of a_0, a_1, a_2 (one member per host with 3 hosts; one of them sends to it per tick) and
 * b_0, which only reads it, so one instance also delivers a message of its own host's sender.
 */
export async function startHostLoad(o: HostLoadOptions): Promise<HostLoad> {
  const pairs = o.pairs ?? 6;
  const devices: Device[] = [];
  const senders: Array<{ from: Device; to: string; group?: boolean }> = [];
  const make = async (user: string, host: number, n = 0) => {
    const d = new Device(`${user}.${n}`, user, host % o.hosts, o.checker, o.origins);
    await d.start(o.instanceOn(d.home));
    devices.push(d);
    return d;
  };
  for (let i = 0; i < pairs; i++) {
    const [a, b] = [`${o.tag}a${i}`, `${o.tag}b${i}`];
    const da = await make(a, i);
    const db = await make(b, i + 1);
    if (i < 3) await make(b, i + 2, 1);
    senders.push({ from: da, to: b }, { from: db, to: a });
  }
  const members = devices.filter((d) => /a[0-2]$/.test(d.user) && d.id.endsWith(".0")).slice(0, Math.min(3, o.hosts));
  // b_0 too, a member that only reads, on a_1's host: a delivery that stays on one instance.
  const group = [...members.map((d) => d.user), `${o.tag}b0`];
  const groupId = await o.createGroup(`${o.tag}-group`, group);
  o.checker.group(groupId, group);

  let paused = false;
  let tick = 0;
  const timer = setInterval(() => {
    for (const d of devices) d.resendStale();
    if (paused) return;
    for (const s of senders) s.from.send(s.to);
    members[tick++ % members.length]?.send(groupId, true);
  }, o.tickMs ?? 500);
  return {
    devices,
    users: [...new Set(devices.map((d) => d.user))],
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    stop() {
      clearInterval(timer);
      for (const d of devices) d.stop();
    },
  };
}
