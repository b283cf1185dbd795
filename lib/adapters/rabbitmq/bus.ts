// The message bus on RabbitMQ (SPEC §6): frames between instances, and the chat-message persistence queue.
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from "amqplib";
import type { MessageBus } from "../../core/bus.ts";
import type { Logger } from "../../log.ts";

/** The seed's broadcast exchange (fanout, durable): every instance's queue is bound to it. */
export const FANOUT_EXCHANGE = "fanout_exchange";
/** This project's direct exchange: each instance's queue is bound with routing key `<ip>_<port>`. */
export const DIRECT_EXCHANGE = "im_direct_exchange";
/** The seed's persistence topology: topic exchange, durable queue, routing key and binding. */
export const PERSIST_EXCHANGE = "pitayafruits_exchange";
export const PERSIST_QUEUE = "pitayafruits_queue";
export const PERSIST_ROUTING_KEY = "pitayafruits.wechat.send";
export const PERSIST_BINDING = "pitayafruits.wechat.#";
/** Content type of a batch of DataContent frames joined by newlines (direct exchange only). */
export const BATCH_TYPE = "application/x-ndjson";

export interface AmqpBusOptions {
  /** e.g. `amqp://guest:guest@127.0.0.1:5672/vhost`. */
  url: string;
  /** This instance, `<ip>_<port>`: names its queue `queue_<id>` and marks what it publishes. */
  instanceId: string;
  /** `direct`: a target list goes only to those instances; `fanout`: every publish is a broadcast. */
  routing: "direct" | "fanout";
  log: Logger;
  /** `x-expires` of this instance's queue: it disappears this long after its consumer is gone (default 60 000). */
  queueExpiresMs?: number;
  /** Most frames in one direct-exchange message (default 64); a batch also ends with the event-loop tick. */
  maxBatch?: number;
  /** Unacknowledged frames in flight to this instance (default 256). */
  prefetch?: number;
  /** Unacknowledged chat messages in flight to the persistence handler (default 256). */
  chatMsgPrefetch?: number;
  /** A publish without a broker confirm after this long is rejected (default 5000). */
  publishTimeoutMs?: number;
  /** Delay before a failed chat message is requeued, so a failing store is not hammered (default 1000). */
  retryDelayMs?: number;
  /** Reconnect backoff (exponential with jitter): first delay and cap (defaults 200 and 10 000). */
  reconnectDelayMs?: { initial?: number; max?: number };
  /** Retries of the first connection before `createAmqpBus` rejects (default 5). */
  connectRetries?: number;
  /** Bound on waiting for in-flight work in `close()` (default 5000). */
  closeTimeoutMs?: number;
}

export interface AmqpBus extends MessageBus {
  /** `queue_<instanceId>`. */
  readonly queueName: string;
  /** Publishes one ChatMsg JSON for persistence (persistent, on `pitayafruits_exchange`); resolves on confirm. */
  publishChatMsg(chatMsgJson: string): Promise<void>;
  /**
   * Consumes `pitayafruits_queue` as one of competing consumers: a message is acked after
   * `handler` resolves, and requeued (after `retryDelayMs`) when it rejects. Delivery is
   * at-least-once: the handler must tolerate a message it has seen (same `msgId`). Once only.
   */
  consumeChatMsgs(handler: (chatMsgJson: string) => Promise<void>): Promise<void>;
}

/** A publish that cannot reach the broker now; the caller decides what to tell the client. */
export class BrokerUnavailableError extends Error {
  override name = "BrokerUnavailableError";
  readonly code = "UNAVAILABLE";
  constructor(reason: string) {
    super(`message broker unavailable: ${reason}`);
  }
}

/** One connection's channels; replaced as a whole on every reconnect. */
interface Link {
  model: ChannelModel;
  pub: ConfirmChannel;
  sub: Channel;
  framesStarted?: boolean;
  chatMsgsStarted?: boolean;
  lastUnacked?: ConsumeMessage;
  ackTimer?: ReturnType<typeof setImmediate>;
  tags: [Channel, string][];
}

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
const quietly = (fn: () => unknown) => {
  try {
    Promise.resolve(fn()).catch(() => {});
  } catch {}
};
const within = (ms: number, work: Promise<unknown>[]) =>
  Promise.race([Promise.allSettled(work), new Promise((r) => setTimeout(r, ms).unref?.())]);

/**
 * Connects (one connection, long-lived channels: a ConfirmChannel to publish, one channel per
 * consumer), declares the topology and recovers it after every connection loss. This instance's
 * queue is durable (RabbitMQ deprecates transient non-exclusive queues) but carries `x-expires`,
 * so the queue of a dead instance deletes itself; it is not exclusive, so it outlives this
 * instance's own reconnects. Frames are published non-persistent: they are only useful to live
 * instances, and the durable copy of every message is the one on `pitayafruits_queue`.
 */
export async function createAmqpBus(options: AmqpBusOptions): Promise<AmqpBus> {
  const { url, instanceId, routing } = options;
  const log = options.log.child({ component: "amqp-bus" });
  const queueName = `queue_${instanceId}`;
  const prefetch = options.prefetch ?? 256;
  const chatMsgPrefetch = options.chatMsgPrefetch ?? 256;
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  const frameProps: Options.Publish = { appId: instanceId, contentType: "application/json" };
  const batchProps: Options.Publish = { appId: instanceId, contentType: BATCH_TYPE };
  const maxBatch = options.maxBatch ?? 64;
  const chatMsgProps: Options.Publish = { appId: instanceId, contentType: "application/json", persistent: true };

  let link: Link | null = null;
  let closing = false;
  let blocked: string | null = null;
  let chatMsgsFailing = false;
  let frameHandler: ((frame: string) => void) | null = null;
  let chatMsgHandler: ((json: string) => Promise<void>) | null = null;
  const confirming = new Set<Promise<void>>();
  const handling = new Set<Promise<void>>();
  const retryTimers = new Set<ReturnType<typeof setTimeout>>();

  // Any unexpected channel loss drops the whole connection: recovery then rebuilds everything.
  const watch = (model: ChannelModel, ch: Channel, name: string) => {
    ch.on("error", (err) => log.warn("amqp_channel_error", { channel: name, err }));
    ch.on("close", () => {
      if (closing) return;
      if (link?.model === model) link = null;
      quietly(() => model.close());
    });
  };

  const flushAcks = (l: Link) => {
    l.ackTimer = undefined;
    const last = l.lastUnacked;
    l.lastUnacked = undefined;
    if (last) quietly(() => l.sub.ack(last, true));
  };

  const onFrameDelivery = (l: Link, msg: ConsumeMessage | null) => {
    if (!msg) return void quietly(() => l.model.close()); // cancelled by the broker (queue deleted)
    // fanout_exchange delivers our own broadcasts back to us; the sender delivered those locally.
    if (msg.properties.appId !== instanceId && frameHandler) {
      const text = msg.content.toString("utf8");
      // A batch on the direct exchange: frames joined by "\n" (JSON text never holds a raw newline).
      const frames = msg.properties.contentType === BATCH_TYPE ? text.split("\n") : [text];
      for (const frame of frames) {
        try {
          frameHandler(frame);
        } catch (err) {
          log.error("bus_frame_handler_failed", { err });
        }
      }
    }
    l.lastUnacked = msg;
    l.ackTimer ??= setImmediate(() => flushAcks(l));
  };

  const onChatMsgDelivery = (l: Link, ch: Channel, msg: ConsumeMessage | null) => {
    if (!msg) return void quietly(() => l.model.close());
    const handler = chatMsgHandler!;
    const job = new Promise<void>((resolve) => resolve(handler(msg.content.toString("utf8")))).then(
      () => {
        quietly(() => ch.ack(msg));
        if (chatMsgsFailing) log.info("chat_msg_handler_recovered");
        chatMsgsFailing = false;
      },
      (err) => {
        if (!chatMsgsFailing) log.error("chat_msg_handler_failed", { err, retryDelayMs });
        chatMsgsFailing = true;
        const timer = setTimeout(() => {
          retryTimers.delete(timer);
          quietly(() => ch.nack(msg, false, true));
        }, retryDelayMs);
        retryTimers.add(timer);
      },
    );
    handling.add(job);
    void job.then(() => handling.delete(job));
  };

  // Starts the consumers whose handler is set and that are not yet running on this link.
  const startConsumers = async (l: Link) => {
    if (frameHandler && !l.framesStarted) {
      l.framesStarted = true;
      const { consumerTag } = await l.sub.consume(queueName, (msg) => onFrameDelivery(l, msg));
      l.tags.push([l.sub, consumerTag]);
    }
    if (chatMsgHandler && !l.chatMsgsStarted) {
      l.chatMsgsStarted = true;
      const ch = await l.model.createChannel();
      watch(l.model, ch, "persist");
      await ch.prefetch(chatMsgPrefetch);
      const { consumerTag } = await ch.consume(PERSIST_QUEUE, (msg) => onChatMsgDelivery(l, ch, msg));
      l.tags.push([ch, consumerTag]);
    }
  };

  const setup = async (model: ChannelModel) => {
    // Until recovery binds its own listener, an unheard "error" would throw out of a socket event.
    model.on("error", (err) => {
      if (link?.model !== model) log.warn("amqp_connection_error", { err });
    });
    const pub = await model.createConfirmChannel();
    watch(model, pub, "publish");
    const sub = await model.createChannel();
    watch(model, sub, "frames");
    try {
      await pub.assertExchange(FANOUT_EXCHANGE, "fanout", { durable: true });
      await pub.assertExchange(DIRECT_EXCHANGE, "direct", { durable: true });
      await pub.assertExchange(PERSIST_EXCHANGE, "topic", { durable: true });
      await pub.assertQueue(PERSIST_QUEUE, { durable: true });
      await pub.bindQueue(PERSIST_QUEUE, PERSIST_EXCHANGE, PERSIST_BINDING);
      await pub.assertQueue(queueName, { durable: true, exclusive: false, autoDelete: false, expires: options.queueExpiresMs ?? 60_000 });
      await pub.bindQueue(queueName, FANOUT_EXCHANGE, "");
      await pub.bindQueue(queueName, DIRECT_EXCHANGE, instanceId);
    } catch (err) {
      if ((err as { code?: number }).code === 406) {
        log.error("amqp_topology_conflict", { err, hint: `an exchange or queue exists with other arguments; delete ${queueName} (rabbitmqctl delete_queue) if a seed instance left it` });
      }
      throw err;
    }
    await sub.prefetch(prefetch);
    const next: Link = { model, pub, sub, tags: [] };
    link = next;
    try {
      await startConsumers(next);
    } catch (err) {
      link = null;
      throw err;
    }
  };

  const recovering = await connect(url, {
    clientProperties: { connection_name: `im-bus ${instanceId}` },
    recovery: {
      initialDelay: options.reconnectDelayMs?.initial ?? 200,
      maxDelay: options.reconnectDelayMs?.max ?? 10_000,
      initialMaxRetries: options.connectRetries ?? 5,
      waitForConnect: false,
      setup,
    },
  });
  let downSince = 0;
  let failedAttempts = 0;
  recovering.on("disconnect", (err) => {
    link = null;
    downSince = Date.now();
    if (!closing) log.warn("amqp_disconnected", { err });
  });
  // One line per outage, not one per attempt.
  recovering.on("connect-failed", (err) => {
    if (failedAttempts++ === 0) log.warn("amqp_connect_failed", { err });
  });
  recovering.on("connect", () => {
    if (downSince) log.info("amqp_reconnected", { downMs: Date.now() - downSince, failedAttempts });
    downSince = 0;
    failedAttempts = 0;
  });
  recovering.on("error", (err) => log.warn("amqp_connection_error", { err }));
  recovering.on("blocked", (reason) => {
    blocked = reason;
    log.warn("amqp_blocked", { reason });
  });
  recovering.on("unblocked", () => {
    blocked = null;
    log.info("amqp_unblocked");
  });
  try {
    await recovering.waitForConnect();
  } catch (err) {
    throw new Error(`cannot connect to RabbitMQ at ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`);
  }

  const confirm = (l: Link, exchange: string, routingKey: string, body: Buffer, props: Options.Publish) => {
    const sent = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BrokerUnavailableError(`no confirm within ${publishTimeoutMs} ms`)), publishTimeoutMs);
      const done = (err: unknown) => {
        clearTimeout(timer);
        if (err) reject(new BrokerUnavailableError(err instanceof Error ? err.message : String(err)));
        else resolve();
      };
      try {
        l.pub.publish(exchange, routingKey, body, props, done);
      } catch (err) {
        done(err ?? new Error("publish failed"));
      }
    });
    confirming.add(sent);
    const forget = () => void confirming.delete(sent);
    sent.then(forget, forget);
    return sent;
  };

  // Micro-batching per destination: frames for one instance published in the same tick (or up to
  // maxBatch of them) travel as one AMQP message and one confirm; each frame's promise follows it.
  const batches = new Map<string, { frames: string[]; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> }>();
  let batchTimer: ReturnType<typeof setImmediate> | undefined;
  const flushBatches = () => {
    batchTimer = undefined;
    const all = [...batches];
    batches.clear();
    for (const [id, b] of all) {
      let sent: Promise<void>;
      try {
        const l = current();
        sent = b.frames.length === 1
          ? confirm(l, DIRECT_EXCHANGE, id, Buffer.from(b.frames[0], "utf8"), frameProps)
          : confirm(l, DIRECT_EXCHANGE, id, Buffer.from(b.frames.join("\n"), "utf8"), batchProps);
      } catch (err) {
        sent = Promise.reject(err);
      }
      sent.then(() => b.waiters.forEach((w) => w.resolve()), (err) => b.waiters.forEach((w) => w.reject(err)));
    }
  };
  const batchFor = (id: string, frame: string) =>
    new Promise<void>((resolve, reject) => {
      let b = batches.get(id);
      if (!b) batches.set(id, (b = { frames: [], waiters: [] }));
      b.frames.push(frame);
      b.waiters.push({ resolve, reject });
      if (b.frames.length >= maxBatch) flushBatches();
      else batchTimer ??= setImmediate(flushBatches);
    });

  const current = (): Link => {
    if (closing) throw new BrokerUnavailableError("the bus is closing");
    if (!link) throw new BrokerUnavailableError("rabbitmq disconnected (reconnecting)");
    if (blocked) throw new BrokerUnavailableError(`rabbitmq blocked publishing (${blocked})`);
    return link;
  };

  return {
    queueName,

    async publish(targets, frame) {
      const l = current();
      if (targets === "all" || (routing === "fanout" && targets.length > 0)) {
        return confirm(l, FANOUT_EXCHANGE, "", Buffer.from(frame, "utf8"), frameProps);
      }
      await Promise.all(targets.filter((id) => id !== instanceId).map((id) => batchFor(id, frame)));
    },

    onFrame(handler) {
      frameHandler = handler;
      if (link) startConsumers(link).catch((err) => log.warn("amqp_consume_failed", { err }));
    },

    async publishChatMsg(chatMsgJson) {
      return confirm(current(), PERSIST_EXCHANGE, PERSIST_ROUTING_KEY, Buffer.from(chatMsgJson, "utf8"), chatMsgProps);
    },

    async consumeChatMsgs(handler) {
      if (chatMsgHandler) throw new Error("consumeChatMsgs was already called on this bus");
      chatMsgHandler = handler;
      // When disconnected, the consumer starts with the next connection.
      if (link) await startConsumers(link);
    },

    async health() {
      if (closing) return "rabbitmq: closed";
      if (!link) return "rabbitmq: disconnected (reconnecting)";
      return blocked ? `rabbitmq: blocked (${blocked})` : "ok";
    },

    async close() {
      if (closing) return;
      closing = true;
      const l = link;
      link = null;
      if (l) {
        await Promise.allSettled(l.tags.map(([ch, tag]) => ch.cancel(tag)));
        await within(closeTimeoutMs, [...confirming, ...handling]);
        if (l.ackTimer) clearImmediate(l.ackTimer);
        flushAcks(l);
      }
      for (const timer of retryTimers) clearTimeout(timer);
      retryTimers.clear();
      await recovering.close();
    },
  };
}
