// A TCP forwarder in front of one service whose faults are set per client address (per test host):
// refuse (open connections reset, new ones reset at once), silent (every byte held in both
// directions, sockets kept open, delivered at the heal as TCP retransmission would) or lossy (a
// delay per direction, and a lost segment's retransmission timeout on a share of the chunks, in
// order: a stream cannot lose bytes, it stalls). The kernel here has no sch_netem, so this is it.
import { connect, createServer, type Socket } from "node:net";

export type Fault =
  | { kind: "ok" }
  | { kind: "refuse" }
  | { kind: "silent" }
  | { kind: "lossy"; delayMs: number; loss: number; rtoMs?: number };

export const OK: Fault = Object.freeze({ kind: "ok" });

export interface FaultForwarder {
  readonly host: string;
  readonly port: number;
  /** Sets the fault of connections from `source` (an address); `OK` heals. */
  set(source: string, fault: Fault): void;
  /** Open connections from `source` now. */
  connections(source: string): number;
  close(): Promise<void>;
}

type Item = { at: number; chunk?: Buffer; end?: true };

/** One direction of one connection: a FIFO released in order, never before `at`. */
class Lane {
  private queue: Item[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = 0;

  constructor(private readonly to: Socket, private readonly fault: () => Fault) {}

  push(item: { chunk?: Buffer; end?: true }): void {
    const f = this.fault();
    let at = Date.now();
    if (f.kind === "lossy") {
      at += f.delayMs;
      if (Math.random() < f.loss) at += f.rtoMs ?? Math.max(200, 2 * f.delayMs);
    }
    this.last = Math.max(this.last, at);
    this.queue.push({ ...item, at: this.last });
    this.pump();
  }

  /** Delivers what is due unless the link is silent; re-arms for the next item. */
  pump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.fault().kind === "silent") return;
    const now = Date.now();
    while (this.queue.length && this.queue[0].at <= now) {
      const item = this.queue.shift()!;
      if (this.to.destroyed) continue;
      if (item.chunk) this.to.write(item.chunk);
      if (item.end) this.to.end();
    }
    if (this.queue.length) this.timer = setTimeout(() => this.pump(), this.queue[0].at - now);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }
}

interface Conn {
  source: string;
  client: Socket;
  upstream: Socket;
  lanes: Lane[];
}

/** Listens on `listen.host` (port 0: any) and forwards to `target`. */
export async function startFaultForwarder(listen: { host: string; port?: number }, target: { host: string; port: number }): Promise<FaultForwarder> {
  const faults = new Map<string, Fault>();
  const conns = new Set<Conn>();
  const faultOf = (source: string) => faults.get(source) ?? OK;

  const drop = (c: Conn, reset: boolean) => {
    conns.delete(c);
    for (const lane of c.lanes) lane.stop();
    if (reset) c.client.resetAndDestroy();
    else c.client.destroy();
    c.upstream.destroy();
  };

  const server = createServer((client) => {
    const source = (client.remoteAddress ?? "").replace(/^::ffff:/, "");
    if (faultOf(source).kind === "refuse") return void client.resetAndDestroy();
    const upstream = connect(target.port, target.host);
    const fault = () => faultOf(source);
    const c: Conn = { source, client, upstream, lanes: [new Lane(upstream, fault), new Lane(client, fault)] };
    conns.add(c);
    const wire = (from: Socket, lane: Lane) => {
      from.on("data", (chunk: Buffer) => lane.push({ chunk }));
      from.on("end", () => lane.push({ end: true }));
      from.on("error", () => {});
    };
    wire(client, c.lanes[0]);
    wire(upstream, c.lanes[1]);
    // A socket gone for good (reset, or both ends done) takes its peer once what it sent is out.
    const closed = () => {
      if (!conns.has(c)) return;
      if (client.destroyed && upstream.destroyed) return void conns.delete(c);
      c.lanes[client.destroyed ? 0 : 1].push({ end: true });
      setTimeout(() => conns.has(c) && faultOf(source).kind !== "silent" && drop(c, false), 30_000).unref?.();
    };
    client.on("close", closed);
    upstream.on("close", closed);
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port ?? 0, listen.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    host: listen.host,
    port,
    set(source, fault) {
      faults.set(source, fault);
      for (const c of [...conns]) {
        if (c.source !== source) continue;
        if (fault.kind === "refuse") drop(c, true);
        else for (const lane of c.lanes) lane.pump();
      }
    },
    connections: (source) => [...conns].filter((c) => c.source === source).length,
    async close() {
      for (const c of [...conns]) drop(c, false);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
