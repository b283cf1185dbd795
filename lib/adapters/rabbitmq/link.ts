// One RabbitMQ connection that recovers by itself, with a confirm channel to publish on; the frame
// bus and the persistence queue each declare their topology and consumers on it, again after every
// reconnect.
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Options } from "amqplib";
import { createInFlight } from "../../in-flight.ts";
import { failureStreak, type Logger } from "../../log.ts";

export interface AmqpLinkOptions {
  /** e.g. `amqp://guest:guest@127.0.0.1:5672/vhost`. */
  url: string;
  /** Shown in the broker's connection list. */
  name: string;
  log: Logger;
  /** A publish without a broker confirm after this long is rejected (default 5000). */
  publishTimeoutMs?: number;
  /** Reconnect backoff (exponential with jitter): first delay and cap (defaults 200 and 10 000). */
  reconnectDelayMs?: { initial?: number; max?: number };
  /** Retries of the first connection before `connectAmqp` rejects (default 5). */
  connectRetries?: number;
  /** Bound on waiting for unconfirmed publishes in `close()` (default 5000). */
  closeTimeoutMs?: number;
  /**
   * AMQP heartbeat in seconds, unless the URL sets `?heartbeat=` itself (default: the broker's,
   * 60 s). Two missed heartbeats drop the connection: a broker gone silent (a partition that drops
   * packets) is seen within two to three heartbeats and recovery starts.
   */
  heartbeatS?: number;
}

/** `url` with `heartbeat=<s>` added when it names none. */
export function withHeartbeat(url: string, seconds: number | undefined): string {
  if (seconds === undefined || /[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes("?") ? "&" : "?"}heartbeat=${seconds}`;
}

/** One connection as the parts see it while it lives. */
export interface Connection {
  model: ChannelModel;
  pub: ConfirmChannel;
  /** A new channel whose loss drops the whole connection (recovery then rebuilds everything). */
  channel(name: string): Promise<Channel>;
}

/** Sets up a part on a (new) connection: topology, consumers. */
export type Setup = (conn: Connection) => Promise<void>;

export interface AmqpLink {
  /** Runs `setup` on every connection from now on, the current one included. */
  use(setup: Setup): Promise<void>;
  /** Publishes on the confirm channel; resolves on the broker's confirm. Rejects with BrokerUnavailableError. */
  publish(exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void>;
  /** "ok" or a short reason. */
  health(): Promise<string>;
  readonly closing: boolean;
  close(): Promise<void>;
}

/** A publish that cannot reach the broker now; the caller decides what to tell the client. */
export class BrokerUnavailableError extends Error {
  override name = "BrokerUnavailableError";
  readonly code = "UNAVAILABLE";
  constructor(reason: string) {
    super(`message broker unavailable: ${reason}`);
  }
}

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
/** Runs `fn`, ignoring whatever it throws or rejects with (closing what may be closed already). */
export const quietly = (fn: () => unknown) => {
  try {
    Promise.resolve(fn()).catch(() => {});
  } catch {}
};

/** Connects (waiting for the first connection) and keeps reconnecting until `close()`. */
export async function connectAmqp(options: AmqpLinkOptions): Promise<AmqpLink> {
  const log = options.log;
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  const setups: Setup[] = [];
  const confirming = createInFlight();
  let current: Connection | null = null;
  let closing = false;
  let blocked: string | null = null;

  const watch = (model: ChannelModel, ch: Channel, name: string) => {
    ch.on("error", (err) => log.warn("amqp.channel_error", { channel: name, err }));
    ch.on("close", () => {
      if (closing) return;
      if (current?.model === model) current = null;
      quietly(() => model.close());
    });
  };

  const setup = async (model: ChannelModel) => {
    // Until recovery binds its own listener, an unheard "error" would throw out of a socket event.
    model.on("error", (err) => {
      if (current?.model !== model) log.warn("amqp.connection_error", { err });
    });
    const pub = await model.createConfirmChannel();
    watch(model, pub, "publish");
    const conn: Connection = {
      model,
      pub,
      async channel(name) {
        const ch = await model.createChannel();
        watch(model, ch, name);
        return ch;
      },
    };
    for (const part of setups) await part(conn);
    current = conn;
  };

  const recovering = await connect(withHeartbeat(options.url, options.heartbeatS), {
    clientProperties: { connection_name: options.name },
    recovery: {
      initialDelay: options.reconnectDelayMs?.initial ?? 200,
      maxDelay: options.reconnectDelayMs?.max ?? 10_000,
      initialMaxRetries: options.connectRetries ?? 5,
      waitForConnect: false,
      setup,
    },
  });
  let downSince = 0;
  const attempts = failureStreak(log, "amqp.connect_failed"); // one line per outage, not per attempt
  recovering.on("disconnect", (err) => {
    current = null;
    downSince = Date.now();
    if (!closing) log.warn("amqp.disconnected", { err });
  });
  recovering.on("connect-failed", (err) => attempts.fail({ err }));
  recovering.on("connect", () => {
    if (downSince) log.info("amqp.reconnected", { downMs: Date.now() - downSince });
    downSince = 0;
    attempts.ok();
  });
  recovering.on("error", (err) => log.warn("amqp.connection_error", { err }));
  recovering.on("blocked", (reason) => {
    blocked = reason;
    log.warn("amqp.blocked", { reason });
  });
  recovering.on("unblocked", () => {
    blocked = null;
    log.info("amqp.unblocked");
  });
  try {
    await recovering.waitForConnect();
  } catch (err) {
    throw new Error(`cannot connect to RabbitMQ at ${redact(options.url)}: ${err instanceof Error ? err.message : String(err)}`);
  }

  const live = (): Connection => {
    if (closing) throw new BrokerUnavailableError("the bus is closing");
    if (!current) throw new BrokerUnavailableError("rabbitmq disconnected (reconnecting)");
    if (blocked) throw new BrokerUnavailableError(`rabbitmq blocked publishing (${blocked})`);
    return current;
  };

  return {
    async use(part) {
      setups.push(part);
      // When disconnected, the part is set up with the next connection.
      if (current) await part(current);
    },

    publish(exchange, routingKey, body, props) {
      return confirming.track(
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new BrokerUnavailableError(`no confirm within ${publishTimeoutMs} ms`)), publishTimeoutMs);
          const done = (err: unknown) => {
            clearTimeout(timer);
            if (err) reject(new BrokerUnavailableError(err instanceof Error ? err.message : String(err)));
            else resolve();
          };
          try {
            live().pub.publish(exchange, routingKey, body, props, done);
          } catch (err) {
            done(err ?? new Error("publish failed"));
          }
        }),
      );
    },

    async health() {
      if (closing) return "rabbitmq: closed";
      if (!current) return "rabbitmq: disconnected (reconnecting)";
      return blocked ? `rabbitmq: blocked (${blocked})` : "ok";
    },

    get closing() {
      return closing;
    },

    async close() {
      if (closing) return;
      closing = true;
      await confirming.idleWithin(options.closeTimeoutMs ?? 5000);
      current = null;
      await recovering.close();
    },
  };
}
