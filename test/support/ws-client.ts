// A test WebSocket client: frames queue up and are awaited one by one, with timeouts.

export type Frame = Record<string, any>;

export class TestClient {
  readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  closed: { code: number; reason: string } | undefined;
  private closeWaiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.frames.push(JSON.parse(String(e.data)));
      this.wake();
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
      for (const w of this.closeWaiters.splice(0)) w();
    };
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Opens a connection to `url` (ws://host:port/ws). */
  static async open(url: string, timeoutMs = 5000): Promise<TestClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no open from ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.onopen = () => (clearTimeout(timer), resolve());
      ws.onerror = () => (clearTimeout(timer), reject(new Error(`could not connect to ${url}`)));
    });
    return new TestClient(ws);
  }

  /** Opens and sends CONNECT_INIT for `userId`, waiting for its ack (so routing is live). */
  static async login(url: string, userId: string, extra: Frame = {}): Promise<TestClient> {
    const c = await TestClient.open(url);
    await c.init(userId, extra);
    return c;
  }

  async init(userId: string, extra: Frame = {}): Promise<void> {
    const clientMsgId = `init-${crypto.randomUUID()}`;
    this.send({ chatMsg: { senderId: userId, msgType: 0, clientMsgId, ...extra } });
    await this.next((f) => f.ack?.clientMsgId === clientMsgId);
  }

  send(frame: Frame | string): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Sends a text message and returns its ack. */
  async say(from: string, to: string, msg: string, extra: Frame = {}): Promise<{ msgId: string; chatTime: string; clientMsgId: string }> {
    const clientMsgId = extra.clientMsgId ?? crypto.randomUUID();
    this.send({ chatMsg: { senderId: from, receiverId: to, msg, msgType: 1, clientMsgId, ...extra } });
    const f = await this.next((f) => f.ack?.clientMsgId === clientMsgId || f.error);
    if (f.error) throw new Error(`error instead of ack: ${JSON.stringify(f.error)}`);
    return f.ack;
  }

  /** Removes and returns the first frame matching `pred`, waiting up to `timeoutMs`. */
  async next(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) {
        throw new Error(`no matching frame within ${timeoutMs} ms${this.closed ? ` (closed ${this.closed.code})` : ""}; have ${JSON.stringify(this.frames).slice(0, 500)}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** The next chat delivery (a DataContent frame), optionally matching `pred`. */
  nextMessage(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    return this.next((f) => f.chatMsg !== undefined && pred(f), timeoutMs);
  }

  /** Waits `ms` and asserts nothing matching `pred` arrived. */
  async expectNothing(ms = 300, pred: (f: Frame) => boolean = () => true): Promise<void> {
    await Bun.sleep(ms);
    const got = this.frames.filter(pred);
    if (got.length) throw new Error(`expected no frame, got ${JSON.stringify(got).slice(0, 500)}`);
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (!this.closed) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
        this.closeWaiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    return this.closed!;
  }

  close(): void {
    if (!this.closed) this.ws.close();
  }
}
