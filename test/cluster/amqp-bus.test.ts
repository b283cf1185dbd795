// The RabbitMQ message bus against a real broker, in a vhost of its own: routing, persistence, recovery.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "amqplib";
import { type AmqpBus, type AmqpBusOptions, BrokerUnavailableError, createAmqpBus, PERSIST_QUEUE } from "../../lib/adapters/rabbitmq/bus.ts";
import { createLogger, silentLogger } from "../../lib/log.ts";

const VHOST = `im-test-amqp-bus-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const URL = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(VHOST)}`;
const buses: AmqpBus[] = [];
let nextPort = 20_000 + Math.floor(Math.random() * 10_000);

async function rabbitmqctl(...args: string[]): Promise<string> {
  const proc = Bun.spawn(["rabbitmqctl", "-q", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`rabbitmqctl ${args.join(" ")} failed (${code}): ${err || out}`);
  return out;
}

async function listQueues(): Promise<Record<string, any>[]> {
  const fields = ["name", "durable", "exclusive", "arguments", "messages_ready", "messages_unacknowledged"];
  return JSON.parse(await rabbitmqctl("list_queues", "-p", VHOST, ...fields, "--formatter", "json"));
}

async function newBus(overrides: Partial<AmqpBusOptions> = {}): Promise<AmqpBus> {
  const bus = await createAmqpBus({ url: URL, instanceId: `127.0.0.1_${nextPort++}`, routing: "direct", log: process.env.TEST_LOG ? createLogger("debug") : silentLogger, ...overrides });
  buses.push(bus);
  return bus;
}

/** A bus and the frames it received from other instances. */
async function receiver(overrides: Partial<AmqpBusOptions> = {}) {
  const bus = await newBus(overrides);
  const frames: string[] = [];
  bus.onFrame((frame) => frames.push(frame));
  return { bus, frames, id: bus.queueName.slice("queue_".length) };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

beforeAll(async () => {
  try {
    await (await connect("amqp://guest:guest@127.0.0.1:5672")).close();
  } catch (err) {
    throw new Error(`RabbitMQ is not reachable at 127.0.0.1:5672 (${(err as Error).message}); start it with scripts/services.sh rabbitmq`);
  }
  await rabbitmqctl("add_vhost", VHOST);
  await rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*");
});

afterAll(async () => {
  await Promise.allSettled(buses.map((b) => b.close()));
  await rabbitmqctl("delete_vhost", VHOST).catch(() => {});
});

describe("amqp bus frames", () => {
  test("a direct publish reaches only the target instance", async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    await a.bus.publish([b.id], '{"chatMsg":{"msg":"to b"}}');
    await until(() => b.frames.length === 1, "b to receive the frame");
    await Bun.sleep(200);
    expect(b.frames).toEqual(['{"chatMsg":{"msg":"to b"}}']);
    expect(a.frames).toEqual([]);
    expect(c.frames).toEqual([]);
  });

  test("frames published in one tick to one instance travel batched and arrive complete and in order", async () => {
    const [a, b] = await Promise.all([receiver({ maxBatch: 16 }), receiver()]);
    const sent = Array.from({ length: 100 }, (_, i) => JSON.stringify({ chatMsg: { msg: `line\nbreak ${i}` } }));
    await Promise.all(sent.map((f) => a.bus.publish([b.id], f)));
    await until(() => b.frames.length === 100, "b to receive 100 frames");
    expect(b.frames).toEqual(sent); // escaped newlines inside frames survive the newline-joined batches
  });

  test("a publish to several instances reaches each of them once", async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    await a.bus.publish([b.id, c.id], "x");
    await until(() => b.frames.length === 1 && c.frames.length === 1, "b and c to receive the frame");
    await Bun.sleep(200);
    expect([a.frames, b.frames, c.frames]).toEqual([[], ["x"], ["x"]]);
  });

  test("a broadcast reaches every other instance but not the sender", async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    const frame = '{"chatMsg":{"senderId":"u1","receiverId":"u2","msg":"hi","msgType":1},"chatTime":"2024/01/01 00:00:00"}';
    await a.bus.publish("all", frame);
    await until(() => b.frames.length === 1 && c.frames.length === 1, "b and c to receive the broadcast");
    await Bun.sleep(200);
    expect(b.frames).toEqual([frame]);
    expect(c.frames).toEqual([frame]);
    expect(a.frames).toEqual([]);
  });

  test("with fanout routing a targeted publish is broadcast, as the seed does", async () => {
    const a = await receiver({ routing: "fanout" });
    const [b, c] = await Promise.all([receiver(), receiver()]);
    await a.bus.publish([b.id], "seed-style");
    await until(() => b.frames.length === 1 && c.frames.length === 1, "b and c to receive it");
    expect(a.frames).toEqual([]);
  });

  test("an instance queue is durable, not exclusive, and carries x-expires", async () => {
    const a = await newBus({ queueExpiresMs: 45_000 });
    const queue = (await listQueues()).find((q) => q.name === a.queueName);
    expect(queue).toBeDefined();
    expect(queue!.durable).toBe(true);
    expect(queue!.exclusive).toBe(false);
    expect(JSON.stringify(queue!.arguments)).toContain("x-expires");
    expect(JSON.stringify(queue!.arguments)).toContain("45000");
  });

  test("the queue of an instance that is gone deletes itself after x-expires", async () => {
    const a = await newBus({ queueExpiresMs: 1000 });
    await a.close();
    expect((await listQueues()).map((q) => q.name)).toContain(a.queueName);
    await until(async () => !(await listQueues()).some((q) => q.name === a.queueName), "the queue to expire", 10_000);
  }, 15_000);

  test("health is ok while connected, and publish rejects once the bus is closed", async () => {
    const a = await newBus();
    expect(await a.health()).toBe("ok");
    await a.close();
    expect(await a.health()).toBe("rabbitmq: closed");
    await expect(a.publish("all", "x")).rejects.toBeInstanceOf(BrokerUnavailableError);
  });
});

describe("amqp bus persistence queue", () => {
  test("a chat message is handed to one consumer and acked only after its handler resolved", async () => {
    const producer = await newBus();
    const consumer = await newBus();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    await consumer.consumeChatMsgs(async (json) => {
      seen.push(json);
      await released;
    });
    await producer.publishChatMsg('{"msgId":"1","msg":"persist me"}');
    await until(() => seen.length === 1, "the handler to be called");
    const pending = (await listQueues()).find((q) => q.name === PERSIST_QUEUE)!;
    expect(pending.messages_unacknowledged).toBe(1);
    release();
    await until(async () => (await listQueues()).find((q) => q.name === PERSIST_QUEUE)!.messages_unacknowledged === 0, "the ack");
    expect(seen).toEqual(['{"msgId":"1","msg":"persist me"}']);
    await consumer.close(); // consumers of later tests compete on the same queue
  });

  test("a chat message whose handler fails is requeued and handled again", async () => {
    const bus = await newBus({ retryDelayMs: 50 });
    let calls = 0;
    const handled: string[] = [];
    await bus.consumeChatMsgs(async (json) => {
      if (++calls === 1) throw new Error("store down");
      handled.push(json);
    });
    await bus.publishChatMsg('{"msgId":"2"}');
    await until(() => handled.length === 1, "the retry to succeed");
    expect(calls).toBe(2);
    await bus.close();
  });

  test("competing consumers share the chat messages, each handled once", async () => {
    const producer = await newBus();
    const handled = new Map<string, number>();
    const perConsumer = [0, 0];
    // A prefetch of 1 makes the broker alternate between the consumers.
    const consumers = await Promise.all([newBus({ chatMsgPrefetch: 1 }), newBus({ chatMsgPrefetch: 1 })]);
    for (const [i, c] of consumers.entries()) {
      await c.consumeChatMsgs(async (json) => {
        perConsumer[i]++;
        handled.set(json, (handled.get(json) ?? 0) + 1);
      });
    }
    await Promise.all(Array.from({ length: 40 }, (_, i) => producer.publishChatMsg(`{"msgId":"${i}"}`)));
    await until(() => handled.size === 40, "all 40 messages to be handled");
    expect([...handled.values()].every((count) => count === 1)).toBe(true);
    expect(Math.min(...perConsumer)).toBeGreaterThan(0);
    await Promise.all(consumers.map((c) => c.close()));
  });
});

describe("amqp bus recovery", () => {
  test("after the broker drops its connections the bus reports down, rejects publishes, then recovers", async () => {
    const reconnectDelayMs = { initial: 1500, max: 3000 };
    const a = await receiver({ reconnectDelayMs });
    const b = await receiver({ reconnectDelayMs });
    const persisted: string[] = [];
    await b.bus.consumeChatMsgs(async (json) => void persisted.push(json));
    expect(await a.bus.health()).toBe("ok");

    const healths = new Set<string>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        healths.add(await a.bus.health());
        await Bun.sleep(5);
      }
    })();
    await rabbitmqctl("close_all_connections", "-p", VHOST, "test: broker restart");
    await until(async () => (await a.bus.health()) !== "ok", "health to report the outage");
    expect(await a.bus.health()).toBe("rabbitmq: disconnected (reconnecting)");
    const started = Date.now();
    await expect(a.bus.publish([b.id], "during outage")).rejects.toThrow(/broker unavailable/);
    expect(Date.now() - started).toBeLessThan(100);

    await until(async () => (await a.bus.health()) === "ok" && (await b.bus.health()) === "ok", "both buses to reconnect", 15_000);
    polling = false;
    await poll;
    expect(healths).toContain("rabbitmq: disconnected (reconnecting)");

    await a.bus.publish([b.id], "after recovery");
    await until(() => b.frames.includes("after recovery"), "delivery after recovery");
    await a.bus.publishChatMsg('{"msgId":"after"}');
    await until(() => persisted.includes('{"msgId":"after"}'), "the persistence consumer to be back");
  }, 30_000);
});
