// The seed's persistence topology (SPEC §6): stored ChatMsgs published on pitayafruits_exchange,
// consumed from pitayafruits_queue by competing consumers that ack after the work is done.
import type { Channel, ConsumeMessage, Options } from "amqplib";
import { createInFlight } from "../../in-flight.ts";
import { failureStreak, type Logger } from "../../log.ts";
import { quietly, type AmqpLink } from "./link.ts";

export const PERSIST_EXCHANGE = "pitayafruits_exchange";
export const PERSIST_QUEUE = "pitayafruits_queue";
export const PERSIST_ROUTING_KEY = "pitayafruits.wechat.send";
export const PERSIST_BINDING = "pitayafruits.wechat.#";

export interface PersistQueueOptions {
  /** Marks what this instance publishes. */
  instanceId: string;
  log: Logger;
  /** Unacknowledged chat messages in flight to the handler (default 256). */
  prefetch?: number;
  /** Delay before a failed chat message is requeued, so a failing store is not hammered (default 1000). */
  retryDelayMs?: number;
  /** Bound on waiting for handlers under way in `close()` (default 5000). */
  closeTimeoutMs?: number;
}

export interface PersistQueue {
  /** Publishes one ChatMsg JSON (persistent); resolves on the broker's confirm. */
  publishChatMsg(chatMsgJson: string): Promise<void>;
  /**
   * Consumes `pitayafruits_queue` as one of competing consumers: a message is acked after
   * `handler` resolves, and requeued (after `retryDelayMs`) when it rejects. Delivery is
   * at-least-once: the handler must tolerate a message it has seen (same `msgId`). Once only.
   */
  consumeChatMsgs(handler: (chatMsgJson: string) => Promise<void>): Promise<void>;
  /** Stops consuming and waits (bounded) for the handlers under way. */
  close(): Promise<void>;
}

export async function createPersistQueue(link: AmqpLink, options: PersistQueueOptions): Promise<PersistQueue> {
  const { log } = options;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const props: Options.Publish = { appId: options.instanceId, contentType: "application/json", persistent: true };
  const handling = createInFlight();
  const retryTimers = new Set<ReturnType<typeof setTimeout>>();
  const failures = failureStreak(log, "persist.handler_failed");
  let handler: ((json: string) => Promise<void>) | null = null;
  let consumer: { ch: Channel; tag: string } | null = null;

  function onDelivery(ch: Channel, msg: ConsumeMessage | null): void {
    if (!msg) return void quietly(() => ch.close());
    const run = handler!;
    const job = new Promise<void>((resolve) => resolve(run(msg.content.toString("utf8")))).then(
      () => {
        quietly(() => ch.ack(msg));
        failures.ok();
      },
      (err) => {
        failures.fail({ err, retryDelayMs });
        const timer = setTimeout(() => {
          retryTimers.delete(timer);
          quietly(() => ch.nack(msg, false, true));
        }, retryDelayMs);
        retryTimers.add(timer);
      },
    );
    void handling.track(job);
  }

  await link.use(async ({ pub }) => {
    await pub.assertExchange(PERSIST_EXCHANGE, "topic", { durable: true });
    await pub.assertQueue(PERSIST_QUEUE, { durable: true });
    await pub.bindQueue(PERSIST_QUEUE, PERSIST_EXCHANGE, PERSIST_BINDING);
  });

  return {
    publishChatMsg: (json) => link.publish(PERSIST_EXCHANGE, PERSIST_ROUTING_KEY, Buffer.from(json, "utf8"), props),

    async consumeChatMsgs(h) {
      if (handler) throw new Error("consumeChatMsgs was already called on this queue");
      handler = h;
      // When disconnected, the consumer starts with the next connection.
      await link.use(async (conn) => {
        const ch = await conn.channel("persist");
        await ch.prefetch(options.prefetch ?? 256);
        consumer = { ch, tag: (await ch.consume(PERSIST_QUEUE, (msg) => onDelivery(ch, msg))).consumerTag };
      });
    },

    async close() {
      const c = consumer;
      consumer = null;
      if (c) await Promise.resolve(c.ch.cancel(c.tag)).catch(() => {});
      await handling.idleWithin(options.closeTimeoutMs ?? 5000);
      for (const timer of retryTimers) clearTimeout(timer);
      retryTimers.clear();
    },
  };
}
