// A small promise API over node-zookeeper-client: connect with backoff, the session's life, the few operations used.
import * as zk from "node-zookeeper-client";
import { silentLogger, type Logger } from "../../log.ts";
import { CreateMode, ZkCode, shutdown, socketOf, zkCode, zkError } from "./library.ts";

export type Watcher = (event: zk.Event) => void;

/**
 * - `disconnected`: the connection dropped; the session (and its ephemeral nodes) may still live.
 * - `connected`: reconnected within the same session.
 * - `expired`: the session is gone (the server said so, or we were cut off longer than its timeout).
 * - `session`: a new session replaced the expired one; ephemeral nodes and watches must be recreated.
 * - `closed`: `close()` was called.
 */
export type ZkSessionEvent = "disconnected" | "connected" | "expired" | "session" | "closed";

export interface ZkClientOptions {
  /** e.g. `127.0.0.1:2181`. */
  connect: string;
  /** Requested session timeout; the server clamps it to [2, 20] × tickTime. */
  sessionTimeoutMs: number;
  /** Bound on the first connection; later sessions are retried until `close()`. Default 15 000. */
  connectTimeoutMs?: number;
  /** First and largest pause between connection attempts. Defaults 200 and 5 000. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  log?: Logger;
}

/** The first connection did not succeed within `connectTimeoutMs`. */
export class ZkConnectError extends Error {
  override name = "ZkConnectError";
}

/** One logical ZooKeeper connection that survives session expiry by opening a new session. */
export class ZkClient {
  #raw!: zk.Client;
  #state: "connecting" | "connected" | "disconnected" | "expired" | "closed" = "connecting";
  #generation = 0;
  #lostTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #probing = false;
  readonly #pending = new Set<{ raw: zk.Client; fail: (err: unknown) => void }>();
  readonly #listeners = new Map<ZkSessionEvent, Set<() => void>>();
  readonly #opts: Required<ZkClientOptions>;

  constructor(opts: ZkClientOptions) {
    this.#opts = { connectTimeoutMs: 15_000, retryBaseMs: 200, retryMaxMs: 5_000, log: silentLogger, ...opts };
  }

  /** Connected and the session is alive, as far as this side knows. */
  get connected(): boolean {
    return this.#state === "connected";
  }
  get state(): string {
    return this.#state;
  }
  /** Increments each time a new session replaces an expired one. */
  get generation(): number {
    return this.#generation;
  }
  /** The current node-zookeeper-client instance (diagnostics and tests). */
  get raw(): zk.Client {
    return this.#raw;
  }
  /** The current session's id (8 bytes), as found in `ephemeralOwner` of the nodes it owns. */
  get sessionId(): Buffer {
    return this.#raw.getSessionId();
  }
  /** The session timeout the server granted. */
  get sessionTimeoutMs(): number {
    return this.#raw.getSessionTimeout() || this.#opts.sessionTimeoutMs;
  }

  /** Subscribes to a session event; returns the unsubscribe function. */
  on(event: ZkSessionEvent, fn: () => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Resolves at the next of `events`. */
  #next(events: ZkSessionEvent[]): Promise<void> {
    return new Promise((resolve) => {
      const offs = events.map((event) =>
        this.on(event, () => {
          for (const off of offs) off();
          resolve();
        }),
      );
    });
  }

  #emit(event: ZkSessionEvent): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try {
        fn();
      } catch (err) {
        this.#opts.log.error("zk.listener_failed", { event, err });
      }
    }
  }

  /** Opens a session, retrying with exponential backoff until connected or `deadline` (used by connectZk). */
  async open(deadline = Date.now() + this.#opts.connectTimeoutMs): Promise<void> {
    const { connect, sessionTimeoutMs, retryBaseMs, retryMaxMs } = this.#opts;
    for (let attempt = 0; ; attempt++) {
      const raw = zk.createClient(connect, { sessionTimeout: sessionTimeoutMs, spinDelay: retryBaseMs, retries: 0 });
      this.#raw = raw;
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(0, Math.min(sessionTimeoutMs, deadline - Date.now())));
        raw.once("connected", () => {
          clearTimeout(timer);
          resolve(true);
        });
        raw.connect();
      });
      if (this.#state === "closed") {
        shutdown(raw);
        throw new ZkConnectError("zookeeper: client closed");
      }
      if (ok) {
        raw.on("state", (s: zk.State) => this.#onState(raw, s));
        this.#state = "connected";
        this.#watch();
        return;
      }
      shutdown(raw);
      const pause = Math.min(retryMaxMs, retryBaseMs * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (Date.now() + pause >= deadline) {
        throw new ZkConnectError(`zookeeper: cannot connect to ${connect}; is it running? (scripts/services.sh zookeeper)`);
      }
      await Bun.sleep(pause);
    }
  }

  // A silent server (partition, half-open TCP) would otherwise leave us "connected" past our own expiry:
  // probe every third of the session timeout and drop a connection that does not answer in two thirds.
  #watch(): void {
    clearInterval(this.#watchdog);
    this.#probing = false;
    this.#watchdog = setInterval(() => {
      if (this.#state !== "connected" || this.#probing) return;
      const raw = this.#raw;
      this.#probing = true;
      const timer = setTimeout(() => {
        this.#opts.log.warn("zk.unresponsive", { afterMs: Math.round((this.sessionTimeoutMs * 2) / 3) });
        socketOf(raw)?.destroy();
      }, (this.sessionTimeoutMs * 2) / 3);
      raw.exists("/", () => {
        clearTimeout(timer);
        if (raw === this.#raw) this.#probing = false;
      });
    }, this.sessionTimeoutMs / 3);
    this.#watchdog.unref();
  }

  #onState(raw: zk.Client, s: zk.State): void {
    if (raw !== this.#raw || this.#state === "closed" || this.#state === "expired") return;
    if (s === zk.State.SYNC_CONNECTED) {
      clearTimeout(this.#lostTimer);
      this.#state = "connected";
      this.#emit("connected");
    } else if (s === zk.State.DISCONNECTED) {
      this.#state = "disconnected";
      // Like Curator's LOST: past the session timeout the server has expired us, whether or not we hear it.
      clearTimeout(this.#lostTimer);
      this.#lostTimer = setTimeout(() => this.#expire("no connection for the session timeout"), this.sessionTimeoutMs);
      this.#emit("disconnected");
    } else if (s === zk.State.EXPIRED) {
      this.#expire("the server expired the session");
    }
  }

  #expire(reason: string): void {
    if (this.#state === "expired" || this.#state === "closed") return;
    clearTimeout(this.#lostTimer);
    this.#state = "expired";
    clearInterval(this.#watchdog);
    this.#opts.log.warn("zk.session_expired", { reason });
    shutdown(this.#raw);
    this.#failPending(this.#raw, ZkCode.SESSION_EXPIRED);
    this.#emit("expired");
    void this.#renew();
  }

  async #renew(): Promise<void> {
    while (this.#state === "expired") {
      try {
        await this.open();
        this.#generation++;
        this.#opts.log.info("zk.session_renewed", { generation: this.#generation });
        this.#emit("session");
        return;
      } catch (err) {
        if (this.state === "closed") return;
        this.#opts.log.warn("zk.reconnect_failed", { err });
        this.#state = "expired";
      }
    }
  }

  /** Ends the session (its ephemeral nodes go at once) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasLive = this.#state === "connected";
    this.#state = "closed";
    clearTimeout(this.#lostTimer);
    clearInterval(this.#watchdog);
    this.#emit("closed");
    const raw = this.#raw;
    if (!raw) return;
    if (wasLive) {
      // Wait for the server to acknowledge CLOSE_SESSION by closing the socket, bounded.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        raw.once("disconnected", () => {
          clearTimeout(timer);
          resolve();
        });
        raw.close();
      });
    }
    shutdown(raw);
    this.#failPending(raw, ZkCode.CONNECTION_LOSS);
  }

  async #call<T>(run: (raw: zk.Client, done: (err: unknown, value?: T) => void) => void): Promise<T> {
    // Between sessions, requests wait for the new one (or fail once the client is closed).
    while (this.#state === "expired") await this.#next(["session", "closed"]);
    if (this.#state === "closed") throw zkError(ZkCode.CONNECTION_LOSS);
    return new Promise<T>((resolve, reject) => {
      const raw = this.#raw;
      const entry = { raw, fail: reject };
      this.#pending.add(entry);
      run(raw, (err, value) => {
        this.#pending.delete(entry);
        if (err) reject(err);
        else resolve(value as T);
      });
    });
  }

  // The library never answers requests still queued on a client whose session ended: fail them here.
  #failPending(raw: zk.Client, code: number): void {
    for (const entry of this.#pending) {
      if (entry.raw !== raw) continue;
      this.#pending.delete(entry);
      entry.fail(zkError(code));
    }
  }

  /** Creates a node; returns its path (with the sequence suffix for sequential modes). */
  create(path: string, data: Buffer | string = Buffer.alloc(0), mode: number = CreateMode.PERSISTENT): Promise<string> {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    return this.#call((raw, done) => raw.create(path, bytes, mode, done));
  }
  /** Creates `path` and its missing parents as persistent nodes. */
  mkdirp(path: string): Promise<string> {
    return this.#call((raw, done) => raw.mkdirp(path, done));
  }
  getData(path: string, watcher?: Watcher): Promise<Buffer> {
    return this.#call((raw, done) => (watcher ? raw.getData(path, watcher, done) : raw.getData(path, done)));
  }
  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.#call((raw, done) => (watcher ? raw.getChildren(path, watcher, done) : raw.getChildren(path, done)));
  }
  setData(path: string, data: Buffer | string, version = -1): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    return this.#call((raw, done) => raw.setData(path, bytes, version, (err) => done(err)));
  }
  /** Deletes a node; a node that is already gone is not an error. */
  async remove(path: string, version = -1): Promise<void> {
    try {
      await this.#call<void>((raw, done) => raw.remove(path, version, done));
    } catch (err) {
      if (zkCode(err) !== ZkCode.NO_NODE) throw err;
    }
  }
  async exists(path: string, watcher?: Watcher): Promise<boolean> {
    return !!(await this.stat(path, watcher));
  }
  /** The node's stat (version, ephemeralOwner…), or null when it does not exist. */
  stat(path: string, watcher?: Watcher): Promise<zk.Stat | null> {
    return this.#call((raw, done) => (watcher ? raw.exists(path, watcher, done) : raw.exists(path, done)));
  }
}

/** Connects (retrying with exponential backoff within `connectTimeoutMs`) and returns the client. */
export async function connectZk(opts: ZkClientOptions): Promise<ZkClient> {
  const client = new ZkClient(opts);
  await client.open();
  return client;
}
