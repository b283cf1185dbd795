// Load with resilient clients for fault tests: reconnect with backoff and jitter to a freshly
// chosen instance, replay from the last msgId (minus a safety margin), resend unacked messages
// with the same clientMsgId, and count what was sent, acked, delivered, duplicated and lost.

/** Snowflake ids carry ms in the bits above 22: this many ms back is `ms << 22`. */
const REPLAY_MARGIN = 10_000n << 22n;

interface Pending {
  frame: string;
  to: string;
}

export class ResilientClient {
  ws: WebSocket | undefined;
  port = 0;
  readonly acked = new Map<string, string>(); // clientMsgId -> msgId
  readonly ackConflicts: string[] = []; // clientMsgIds acked with two different msgIds
  readonly received = new Set<string>(); // msgIds of chat frames to me
  readonly sentIds = new Map<string, string>(); // clientMsgId -> receiver
  readonly closeCodes: number[] = [];
  duplicateFrames = 0;
  reconnects = 0;
  private unacked = new Map<string, Pending>();
  private maxSeen = 0n;
  private seq = 0;
  private stopped = false;
  private live = false;

  constructor(
    readonly user: string,
    /** HTTP origins to ask getNettyOnlineInfo, tried in turn. */
    private readonly origins: () => string[],
  ) {}

  /** Connects (first time). Resolves when live delivery has begun. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async pickInstance(): Promise<number> {
    for (const origin of this.origins()) {
      try {
        const res = await fetch(`${origin}/chat/getNettyOnlineInfo`, { method: "POST", signal: AbortSignal.timeout(1000) });
        if (res.ok) return (await res.json()).data.port;
      } catch {}
    }
    throw new Error("no origin answered getNettyOnlineInfo");
  }

  private connect(): Promise<void> {
    return new Promise<void>((resolve) => {
      let attempt = 0;
      const tryOnce = async () => {
        if (this.stopped) return resolve();
        try {
          const port = await this.pickInstance();
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
          await new Promise<void>((ok, bad) => {
            ws.onopen = () => ok();
            ws.onerror = () => bad(new Error("connect failed"));
            setTimeout(() => bad(new Error("connect timeout")), 2000);
          });
          this.ws = ws;
          this.port = port;
          this.attach(ws, resolve);
          const replayFrom = this.maxSeen > REPLAY_MARGIN ? (this.maxSeen - REPLAY_MARGIN).toString() : undefined;
          ws.send(JSON.stringify({ chatMsg: { senderId: this.user, msgType: 0, clientMsgId: "init", ...(replayFrom ? { msgId: replayFrom } : {}) } }));
        } catch {
          // Backoff with full jitter: base 50 ms, cap 1 s (tests); browsers use 500 ms / 10 s.
          const delay = Math.random() * Math.min(1000, 50 * 2 ** attempt++);
          setTimeout(tryOnce, delay);
        }
      };
      void tryOnce();
    });
  }

  private attach(ws: WebSocket, onLive: () => void): void {
    ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if (f.ack) {
        if (f.ack.clientMsgId === "init") {
          this.live = true;
          for (const p of this.unacked.values()) ws.send(p.frame); // resend: the server dedupes
          return onLive();
        }
        const prev = this.acked.get(f.ack.clientMsgId);
        if (prev && prev !== f.ack.msgId) this.ackConflicts.push(f.ack.clientMsgId);
        this.acked.set(f.ack.clientMsgId, f.ack.msgId);
        this.unacked.delete(f.ack.clientMsgId);
        return;
      }
      const m = f.chatMsg;
      if (!m?.msgId || m.msgType === 8) return;
      const id = BigInt(m.msgId);
      if (id > this.maxSeen) this.maxSeen = id;
      if (m.receiverId !== this.user) return;
      if (this.received.has(m.msgId)) this.duplicateFrames++;
      else this.received.add(m.msgId);
    };
    ws.onclose = (e) => {
      this.closeCodes.push(e.code);
      this.live = false;
      if (this.ws !== ws || this.stopped) return;
      this.ws = undefined;
      this.reconnects++;
      void this.connect();
    };
  }

  /** Sends one text message (held and resent until acked). */
  send(to: string, body?: string): void {
    const clientMsgId = `${this.user}#${this.seq++}`;
    const frame = JSON.stringify({ chatMsg: { senderId: this.user, receiverId: to, msg: body ?? clientMsgId, msgType: 1, clientMsgId } });
    this.unacked.set(clientMsgId, { frame, to });
    this.sentIds.set(clientMsgId, to);
    if (this.live) this.ws?.send(frame);
  }

  get pending(): number {
    return this.unacked.size;
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
  }
}

export interface LoadReport {
  sent: number;
  acked: number;
  unacked: number;
  delivered: number;
  lost: number;
  ackConflicts: number;
  duplicateFrames: number;
  reconnects: number;
}

/** Pairs users up (u0↔u1, u2↔u3, …) and sends at `perSecond` per user until `stop()`. */
export function startLoad(clients: ResilientClient[], perSecond: number) {
  const timer = setInterval(() => {
    for (let i = 0; i < clients.length; i++) clients[i].send(clients[i ^ 1].user);
  }, 1000 / perSecond);
  return {
    stop: () => clearInterval(timer),
  };
}

/** Counts over all clients: every acked message must be in its receiver's `received`. */
export function report(clients: ResilientClient[]): LoadReport {
  const byUser = new Map(clients.map((c) => [c.user, c]));
  let sent = 0, acked = 0, delivered = 0, lost = 0;
  for (const c of clients) {
    sent += c.sentIds.size;
    for (const [clientMsgId, msgId] of c.acked) {
      acked++;
      const receiver = byUser.get(c.sentIds.get(clientMsgId)!)!;
      if (receiver.received.has(msgId)) delivered++;
      else lost++;
    }
  }
  return {
    sent,
    acked,
    unacked: clients.reduce((n, c) => n + c.pending, 0),
    delivered,
    lost,
    ackConflicts: clients.reduce((n, c) => n + c.ackConflicts.length, 0),
    duplicateFrames: clients.reduce((n, c) => n + c.duplicateFrames, 0),
    reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
  };
}

/** Prints reports as a markdown table (kept in README from a real run). */
export function printTable(rows: Array<[string, LoadReport]>): void {
  const cols: Array<keyof LoadReport> = ["sent", "acked", "unacked", "delivered", "lost", "ackConflicts", "duplicateFrames", "reconnects"];
  const lines = [`| scenario | ${cols.join(" | ")} |`, `|---|${cols.map(() => "---:").join("|")}|`];
  for (const [name, r] of rows) lines.push(`| ${name} | ${cols.map((k) => r[k]).join(" | ")} |`);
  console.log("\n" + lines.join("\n") + "\n");
}

/** Waits until every client has no unacked message and deliveries stopped changing. */
export async function settle(clients: ResilientClient[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    const r = report(clients);
    if (r.unacked === 0 && r.lost === 0) return;
    if (r.unacked === 0 && r.delivered === last) {
      // nothing moving: give replays one more moment
      await Bun.sleep(500);
      if (report(clients).lost === 0) return;
    }
    last = r.delivered;
    await Bun.sleep(250);
  }
}
