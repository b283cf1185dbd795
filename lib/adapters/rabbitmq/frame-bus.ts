// The message bus on RabbitMQ (SPEC §6): envelopes between instances on fanout_exchange and on
// this project's direct exchange, each instance consuming its own queue.
import type { Channel, ConsumeMessage, Options } from "amqplib";
import type { Envelope, MessageBus } from "../../core/ports.ts";
import { everyInterval, type Logger } from "../../log.ts";
import { AUDIENCE_HEADER, ENVELOPES_TYPE, FRAME_HEADER, LEGACY_BATCH_TYPE, decodeBatch, decodeDataContent, decodeHeader, encodeBatch, encodeHeader, seedBody } from "./envelope.ts";
import { quietly, type AmqpLink, type Connection } from "./link.ts";

/** The seed's broadcast exchange (fanout, durable): every instance's queue is bound to it. */
export const FANOUT_EXCHANGE = "fanout_exchange";
/** This project's direct exchange: each instance's queue is bound with routing key `<ip>_<port>`. */
export const DIRECT_EXCHANGE = "im_direct_exchange";

export interface FrameBusOptions {
  /** This instance, `<ip>_<port>`: names its queue `queue_<id>` and marks what it publishes. */
  instanceId: string;
  /** `direct`: a target list goes only to those instances; `fanout`: every publish is a broadcast. */
  routing: "direct" | "fanout";
  log: Logger;
  /** `x-expires` of this instance's queue: it disappears this long after its consumer is gone (default 60 000). */
  queueExpiresMs?: number;
  /** Most envelopes in one direct-exchange message (default 64); a batch also ends with the event-loop tick. */
  maxBatch?: number;
  /** Unacknowledged messages in flight to this instance (default 256). */
  prefetch?: number;
  /**
   * The other live instances' ids: a feature frame for "all" goes to each of them on the direct
   * exchange, never on fanout_exchange, whose seed instances would hand it to their clients.
   */
  peers?: () => string[];
}

export type FrameBus = MessageBus & {
  /** `queue_<instanceId>`. */
  readonly queueName: string;
  /** Stops consuming (acking what was handled). */
  close(): Promise<void>;
};

/**
 * This instance's queue is durable (RabbitMQ deprecates transient non-exclusive queues) but carries
 * `x-expires`, so the queue of a dead instance deletes itself; it is not exclusive, so it outlives
 * this instance's own reconnects. Envelopes are published persistent: the broker confirms one only
 * once it would survive its own restart, so an acked message still reaches the receiver's instance
 * when the broker restarts in between (transient ones were dropped: the fault test lost 2–4 acked
 * messages in about one run of four).
 */
export async function createFrameBus(link: AmqpLink, options: FrameBusOptions): Promise<FrameBus> {
  const { instanceId, routing, log } = options;
  const queueName = `queue_${instanceId}`;
  const maxBatch = options.maxBatch ?? 64;
  const badFrames = everyInterval(log, "bus.bad_frame");
  let handler: ((envelope: Envelope) => void) | null = null;
  let consumer: { ch: Channel; tag: string; last?: ConsumeMessage; ackTimer?: ReturnType<typeof setImmediate> } | null = null;
  let currentConn: Connection | undefined;

  const flushAcks = (c: NonNullable<typeof consumer>) => {
    c.ackTimer = undefined;
    const last = c.last;
    c.last = undefined;
    if (last) quietly(() => c.ch.ack(last, true));
  };

  /** The envelopes of one AMQP message: this project's format, or a DataContent of a seed instance or an older version. */
  function envelopesOf(msg: ConsumeMessage): Envelope[] {
    const text = msg.content.toString("utf8");
    const type = msg.properties.contentType;
    if (type === ENVELOPES_TYPE) {
      const { envelopes, bad } = decodeBatch(text);
      if (bad) badFrames({ bad });
      return envelopes;
    }
    const header = msg.properties.headers?.[AUDIENCE_HEADER];
    const full = msg.properties.headers?.[FRAME_HEADER];
    const frames = type === LEGACY_BATCH_TYPE ? text.split("\n") : [typeof full === "string" ? full : text];
    const out: Envelope[] = [];
    for (const frame of frames) {
      const e = typeof header === "string" ? decodeHeader(header, frame) : decodeDataContent(frame);
      if (e) out.push(e);
      else badFrames({ bytes: frame.length });
    }
    return out;
  }

  function onDelivery(c: NonNullable<typeof consumer>, msg: ConsumeMessage | null): void {
    if (!msg) return void quietly(() => c.ch.close()); // cancelled by the broker (queue deleted): the connection recovers
    // fanout_exchange delivers our own broadcasts back to us; the sender delivered those locally.
    if (msg.properties.appId !== instanceId && handler) {
      for (const e of envelopesOf(msg)) {
        try {
          handler(e);
        } catch (err) {
          log.error("bus.handler_failed", { err });
        }
      }
    }
    c.last = msg;
    c.ackTimer ??= setImmediate(() => flushAcks(c));
  }

  async function consume(conn: Connection): Promise<void> {
    const ch = await conn.channel("frames");
    await ch.prefetch(options.prefetch ?? 256);
    const c: NonNullable<typeof consumer> = { ch, tag: "" };
    c.tag = (await ch.consume(queueName, (msg) => onDelivery(c, msg))).consumerTag;
    consumer = c;
  }

  await link.use(async (conn) => {
    const { pub } = conn;
    try {
      await pub.assertExchange(FANOUT_EXCHANGE, "fanout", { durable: true });
      await pub.assertExchange(DIRECT_EXCHANGE, "direct", { durable: true });
      await pub.assertQueue(queueName, { durable: true, exclusive: false, autoDelete: false, expires: options.queueExpiresMs ?? 60_000 });
      await pub.bindQueue(queueName, FANOUT_EXCHANGE, "");
      await pub.bindQueue(queueName, DIRECT_EXCHANGE, instanceId);
    } catch (err) {
      if ((err as { code?: number }).code === 406) {
        log.error("amqp.topology_conflict", { err, hint: `an exchange or queue exists with other arguments; delete ${queueName} (rabbitmqctl delete_queue) if a seed instance left it` });
      }
      throw err;
    }
    currentConn = conn;
    if (handler) await consume(conn);
  });

  // fanout_exchange: the body is what a seed instance parses; this project's instances read the headers.
  const fanoutMessage = (e: Envelope): [Buffer, Options.Publish] => {
    const seed = seedBody(e.frame);
    const headers: Record<string, string> = { [AUDIENCE_HEADER]: encodeHeader(e) };
    if (seed) headers[FRAME_HEADER] = e.frame;
    return [Buffer.from(seed ?? e.frame, "utf8"), { appId: instanceId, contentType: "application/json", persistent: true, headers }];
  };
  const batchProps: Options.Publish = { appId: instanceId, contentType: ENVELOPES_TYPE, persistent: true };

  // Micro-batching per destination: envelopes for one instance published in the same tick (or up
  // to maxBatch of them) travel as one AMQP message and one confirm; each one's promise follows it.
  const batches = new Map<string, { envelopes: Envelope[]; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> }>();
  let batchTimer: ReturnType<typeof setImmediate> | undefined;
  const flushBatches = () => {
    batchTimer = undefined;
    const all = [...batches];
    batches.clear();
    for (const [id, b] of all) {
      link.publish(DIRECT_EXCHANGE, id, Buffer.from(encodeBatch(b.envelopes), "utf8"), batchProps).then(
        () => b.waiters.forEach((w) => w.resolve()),
        (err) => b.waiters.forEach((w) => w.reject(err)),
      );
    }
  };
  const batchFor = (id: string, envelope: Envelope) =>
    new Promise<void>((resolve, reject) => {
      let b = batches.get(id);
      if (!b) batches.set(id, (b = { envelopes: [], waiters: [] }));
      b.envelopes.push(envelope);
      b.waiters.push({ resolve, reject });
      if (b.envelopes.length >= maxBatch) flushBatches();
      else batchTimer ??= setImmediate(flushBatches);
    });

  return {
    queueName,
    acceptsMore: true,

    async publish(targets, envelope) {
      if (envelope.feature) {
        const ids = targets === "all" ? (options.peers?.() ?? []) : targets;
        return void (await Promise.all(ids.filter((id) => id !== instanceId).map((id) => batchFor(id, envelope))));
      }
      if (targets === "all" || (routing === "fanout" && targets.length > 0)) {
        return link.publish(FANOUT_EXCHANGE, "", ...fanoutMessage(envelope));
      }
      await Promise.all(targets.filter((id) => id !== instanceId).map((id) => batchFor(id, envelope)));
    },

    onEnvelope(h) {
      handler = h;
      if (currentConn && !consumer) consume(currentConn).catch((err) => log.warn("amqp.consume_failed", { err }));
    },

    async close() {
      const c = consumer;
      consumer = null;
      if (!c) return;
      await Promise.resolve(c.ch.cancel(c.tag)).catch(() => {});
      if (c.ackTimer) clearImmediate(c.ackTimer);
      flushAcks(c);
    },
  };
}
