// What the chat core measures (an interface: prom-client lives in lib/adapters/metrics.ts).

/** What the core measures; the adapter binds each to a metric once, nothing is looked up per message. */
export interface CoreMetrics {
  frameIn(type: string): void;
  frameOut(kind: "ack" | "error" | "replay" | "catch_up"): void;
  error(code: string): void;
  delivered(origin: "local" | "remote"): void;
  /** Open connections. */
  connections(open: number): void;
  /** Connections that completed CONNECT_INIT, and distinct users among them. */
  online(counts: number, users: number): void;
  stored(seconds: number): void;
  storeFailed(): void;
  published(mode: "direct" | "fanout", seconds: number): void;
  publishFailed(): void;
  consumed(): void;
  /** A chat message was stored and handed on (its ack may go out), `seconds` after its frame was handled. */
  acked?(seconds: number): void;
  /** A CONNECT_INIT replayed `messages`; `recovered` as in its ack (false: the client should read history). */
  replayed?(messages: number, recovered: boolean): void;
}
