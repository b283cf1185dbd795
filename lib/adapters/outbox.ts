// A bounded outbox in front of the message bus: frames that cannot be published during a broker
// outage wait here, in order, and are flushed when it comes back; past the bound, new chat
// messages are refused (UNAVAILABLE) instead of being dropped silently.
import type { Envelope, MessageBus } from "../core/ports.ts";
import type { Logger } from "../log.ts";

export interface OutboxOptions {
  /** Most frames held while the bus is down (default 10 000). */
  maxFrames?: number;
  /** Pause between flush attempts, doubling up to `maxRetryMs` (defaults 100 and 2 000). */
  retryMs?: number;
  maxRetryMs?: number;
  log: Logger;
  /** Told the number of held frames whenever it changes (for a metric). */
  onBacklog?: (frames: number) => void;
}

interface Held {
  targets: readonly string[] | "all";
  envelope: Envelope;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export type Outbox = MessageBus & {
  /** Frames waiting for the bus. */
  readonly backlog: number;
  /** Most frames it holds. */
  readonly maxFrames: number;
  /** Gives held frames a last second, then fails them. */
  close(): Promise<void>;
};

/**
 * Wraps `bus`; `publish` resolves once the frame reached the broker, however long the outage;
 * `acceptsMore` is false once `maxFrames` are held.
 */
export function createOutbox(bus: MessageBus, opts: OutboxOptions): Outbox {
  const maxFrames = opts.maxFrames ?? 10_000;
  const baseRetryMs = opts.retryMs ?? 100;
  const maxRetryMs = opts.maxRetryMs ?? 2000;
  const held: Held[] = [];
  let flushing = false;
  let closed = false;

  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    let delay = baseRetryMs;
    const since = Date.now();
    while (held.length && !closed) {
      const head = held[0];
      try {
        await bus.publish(head.targets, head.envelope);
        held.shift();
        opts.onBacklog?.(held.length);
        head.resolve();
        delay = baseRetryMs;
      } catch {
        await Bun.sleep(delay);
        delay = Math.min(delay * 2, maxRetryMs);
      }
    }
    if (!closed) opts.log.info("outbox.flushed", { downMs: Date.now() - since });
    flushing = false;
  }

  function hold(targets: readonly string[] | "all", envelope: Envelope): Promise<void> {
    if (held.length >= maxFrames) return Promise.reject(new Error(`outbox full (${maxFrames} frames held)`));
    return new Promise<void>((resolve, reject) => {
      held.push({ targets, envelope, resolve, reject });
      opts.onBacklog?.(held.length);
      if (held.length === 1) opts.log.warn("outbox.holding", { reason: "bus unavailable" });
      void flush();
    });
  }

  return {
    get acceptsMore() {
      return held.length < maxFrames;
    },
    get backlog() {
      return held.length;
    },
    maxFrames,
    publish(targets, envelope) {
      if (closed) return Promise.reject(new Error("outbox is closed"));
      // Behind held frames, a new one waits its turn so order is kept.
      if (held.length) return hold(targets, envelope);
      return bus.publish(targets, envelope).catch(() => hold(targets, envelope));
    },
    onEnvelope: (handler) => bus.onEnvelope(handler),
    async close() {
      // Give held frames a last chance while the bus is still open, then give up on them.
      const deadline = Date.now() + 1000;
      while (held.length && Date.now() < deadline) await Bun.sleep(20);
      closed = true;
      for (const h of held.splice(0)) h.reject(new Error("stopped before the bus came back"));
    },
  };
}
