// The RabbitMQ bus against a real broker, in a vhost of its own: routing of envelopes, what seed
// instances see, the persistence queue, recovery.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "amqplib";
import type { Envelope } from "../../lib/core/ports.ts";
import { createFrameBus, FANOUT_EXCHANGE, type FrameBus, type FrameBusOptions } from "../../lib/adapters/rabbitmq/frame-bus.ts";
import { BrokerUnavailableError, connectAmqp, type AmqpLink, type AmqpLinkOptions } from "../../lib/adapters/rabbitmq/link.ts";
import { createPersistQueue, PERSIST_QUEUE, type PersistQueue, type PersistQueueOptions } from "../../lib/adapters/rabbitmq/persist-queue.ts";
import { createLogger, silentLogger } from "../../lib/log.ts";
import { AMQP, amqpUrl, rabbitmqctl } from "../support/services.ts";
import { eventually } from "../support/wait.ts";

const VHOST = `im-test-amqp-bus-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const URL = amqpUrl(VHOST);
const nodes: Node[] = [];
let nextPort = 20_000 + Math.floor(Math.random() * 10_000);
const log = process.env.TEST_LOG ? createLogger("debug") : silentLogger;

/** One instance's RabbitMQ parts: the connection, the frame bus, the persistence queue. */
interface Node {
  link: AmqpLink;
  bus: FrameBus;
  persist: PersistQueue;
  id: string;
  close(): Promise<void>;
}

type Options = Partial<FrameBusOptions & PersistQueueOptions & Pick<AmqpLinkOptions, "reconnectDelayMs">>;

async function newNode(o: Options = {}): Promise<Node> {
  const instanceId = `127.0.0.1_${nextPort++}`;
  const link = await connectAmqp({ url: URL, name: instanceId, log, reconnectDelayMs: o.reconnectDelayMs });
  const bus = await createFrameBus(link, { instanceId, routing: "direct", log, ...o });
  const persist = await createPersistQueue(link, { instanceId, log, ...o });
  const node = {
    link, bus, persist, id: instanceId,
    async close() {
      await bus.close();
      await persist.close();
      await link.close();
    },
  };
  nodes.push(node);
  return node;
}

const pair = (frame: string, receiverId = "u2", senderId = "u1"): Envelope => ({ audience: { kind: "pair", receiverId, senderId }, frame, except: "conn-1" });

/** An instance and the envelopes it received from other instances. */
async function receiver(o: Options = {}) {
  const node = await newNode(o);
  const got: Envelope[] = [];
  node.bus.onEnvelope((e) => got.push(e));
  return { ...node, got, frames: () => got.map((e) => e.frame) };
}

async function listQueues(): Promise<Record<string, any>[]> {
  const fields = ["name", "durable", "exclusive", "arguments", "messages_ready", "messages_unacknowledged"];
  return JSON.parse(await rabbitmqctl("list_queues", "-p", VHOST, ...fields, "--formatter", "json"));
}

beforeAll(async () => {
  try {
    await (await connect(AMQP)).close();
  } catch (err) {
    throw new Error(`RabbitMQ is not reachable at 127.0.0.1:5672 (${(err as Error).message}); start it with scripts/services.sh rabbitmq`);
  }
  await rabbitmqctl("add_vhost", VHOST);
  await rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*");
});

afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.close()));
  await rabbitmqctl("delete_vhost", VHOST).catch(() => {});
});

describe("amqp bus frames", () => {
  test("a direct publish reaches only the target instance, with its audience and sending connection", async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    await a.bus.publish([b.id], pair('{"chatMsg":{"msg":"to b"}}'));
    expect(await eventually(() => b.got.length === 1, 5000, 10)).toBeTruthy();
    await Bun.sleep(200);
    expect(b.got).toEqual([pair('{"chatMsg":{"msg":"to b"}}')]);
    expect(a.got).toEqual([]);
    expect(c.got).toEqual([]);
  });

  test("envelopes published in one tick to one instance travel batched and arrive complete and in order", async () => {
    const [a, b] = await Promise.all([receiver({ maxBatch: 16 }), receiver()]);
    const sent = Array.from({ length: 100 }, (_, i) => JSON.stringify({ chatMsg: { msg: `line\nbreak ${i}` } }));
    const members: Envelope = { audience: { kind: "members", userIds: ["m1", "m2"] }, frame: sent[0] };
    await Promise.all([...sent.map((f) => a.bus.publish([b.id], pair(f))), a.bus.publish([b.id], members)]);
    expect(await eventually(() => b.got.length === 101, 5000, 10)).toBeTruthy();
    expect(b.frames().slice(0, 100)).toEqual(sent); // escaped newlines inside frames survive the newline-joined batches
    expect(b.got[100]).toEqual({ ...members, except: undefined });
  });

  test("a publish to several instances reaches each of them once", async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    await a.bus.publish([b.id, c.id], pair("x"));
    expect(await eventually(() => b.got.length === 1 && c.got.length === 1, 5000, 10)).toBeTruthy();
    await Bun.sleep(200);
    expect([a.frames(), b.frames(), c.frames()]).toEqual([[], ["x"], ["x"]]);
  });

  test("a broadcast reaches every other instance but not the sender; on fanout_exchange the body is the plain DataContent", async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    const frame = '{"chatMsg":{"senderId":"system","receiverId":"*","msg":"hi","msgType":1},"chatTime":"2024/01/01 00:00:00"}';
    // What a seed instance would read: a queue of its own bound to fanout_exchange.
    const seed = await (await connect(URL)).createChannel();
    const { queue } = await seed.assertQueue("", { exclusive: true });
    await seed.bindQueue(queue, FANOUT_EXCHANGE, "");
    const seen: string[] = [];
    await seed.consume(queue, (m) => m && seen.push(m.content.toString()), { noAck: true });
    await a.bus.publish("all", { audience: { kind: "everyone" }, frame });
    expect(await eventually(() => b.got.length === 1 && c.got.length === 1 && seen.length === 1, 5000, 10)).toBeTruthy();
    await Bun.sleep(200);
    expect(b.got).toEqual([{ audience: { kind: "everyone" }, frame, except: undefined }]);
    expect(c.frames()).toEqual([frame]);
    expect(a.got).toEqual([]);
    expect(seen).toEqual([frame]);
    await seed.close();
  });

  test("a seed instance's DataContent on fanout_exchange is delivered to its 1:1 pair", async () => {
    const b = await receiver();
    const seed = await (await connect(URL)).createConfirmChannel();
    const frame = '{"chatMsg":{"senderId":"s1","receiverId":"s2","msg":"from java","msgType":1},"chatTime":"2024/01/01 00:00:00","extend":"java-conn"}';
    seed.publish(FANOUT_EXCHANGE, "", Buffer.from(frame));
    await seed.waitForConfirms();
    expect(await eventually(() => b.got.length === 1, 5000, 10)).toBeTruthy();
    expect(b.got[0]).toEqual({ audience: { kind: "pair", receiverId: "s2", senderId: "s1" }, frame, except: "java-conn" });
    await seed.close();
  });

  test("with fanout routing a targeted publish is broadcast, as the seed does", async () => {
    const a = await receiver({ routing: "fanout" });
    const [b, c] = await Promise.all([receiver(), receiver()]);
    await a.bus.publish([b.id], pair("seed-style"));
    expect(await eventually(() => b.got.length === 1 && c.got.length === 1, 5000, 10)).toBeTruthy();
    expect(b.got).toEqual([pair("seed-style")]);
    expect(a.got).toEqual([]);
  });

  test("an instance queue is durable, not exclusive, and carries x-expires", async () => {
    const a = await newNode({ queueExpiresMs: 45_000 });
    const queue = (await listQueues()).find((q) => q.name === a.bus.queueName);
    expect(queue).toBeDefined();
    expect(queue!.durable).toBe(true);
    expect(queue!.exclusive).toBe(false);
    expect(JSON.stringify(queue!.arguments)).toContain("x-expires");
    expect(JSON.stringify(queue!.arguments)).toContain("45000");
  });

  test("the queue of an instance that is gone deletes itself after x-expires", async () => {
    const a = await newNode({ queueExpiresMs: 3000 });
    await a.close();
    expect((await listQueues()).map((q) => q.name)).toContain(a.bus.queueName);
    expect(await eventually(async () => !(await listQueues()).some((q) => q.name === a.bus.queueName), 10_000, 10)).toBeTruthy();
  }, 15_000);

  test("health is ok while connected, and publish rejects once the connection is closed", async () => {
    const a = await newNode();
    expect(await a.link.health()).toBe("ok");
    await a.close();
    expect(await a.link.health()).toBe("rabbitmq: closed");
    await expect(a.bus.publish("all", pair("x"))).rejects.toBeInstanceOf(BrokerUnavailableError);
  });
});

describe("amqp bus persistence queue", () => {
  test("a chat message is handed to one consumer and acked only after its handler resolved", async () => {
    const producer = await newNode();
    const consumer = await newNode();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    await consumer.persist.consumeChatMsgs(async (json) => {
      seen.push(json);
      await released;
    });
    await producer.persist.publishChatMsg('{"msgId":"1","msg":"persist me"}');
    expect(await eventually(() => seen.length === 1, 5000, 10)).toBeTruthy();
    const pending = (await listQueues()).find((q) => q.name === PERSIST_QUEUE)!;
    expect(pending.messages_unacknowledged).toBe(1);
    release();
    expect(await eventually(async () => (await listQueues()).find((q) => q.name === PERSIST_QUEUE)!.messages_unacknowledged === 0, 5000, 10)).toBeTruthy();
    expect(seen).toEqual(['{"msgId":"1","msg":"persist me"}']);
    await consumer.close(); // consumers of later tests compete on the same queue
  });

  test("a chat message whose handler fails is requeued and handled again", async () => {
    const bus = await newNode({ retryDelayMs: 50 });
    let calls = 0;
    const handled: string[] = [];
    await bus.persist.consumeChatMsgs(async (json) => {
      if (++calls === 1) throw new Error("store down");
      handled.push(json);
    });
    await bus.persist.publishChatMsg('{"msgId":"2"}');
    expect(await eventually(() => handled.length === 1, 5000, 10)).toBeTruthy();
    expect(calls).toBe(2);
    await bus.close();
  });

  test("competing consumers share the chat messages, each handled once", async () => {
    const producer = await newNode();
    const handled = new Map<string, number>();
    const perConsumer = [0, 0];
    // A prefetch of 1 makes the broker alternate between the consumers.
    const consumers = await Promise.all([newNode({ prefetch: 1 }), newNode({ prefetch: 1 })]);
    for (const [i, c] of consumers.entries()) {
      await c.persist.consumeChatMsgs(async (json) => {
        perConsumer[i]++;
        handled.set(json, (handled.get(json) ?? 0) + 1);
      });
    }
    await Promise.all(Array.from({ length: 40 }, (_, i) => producer.persist.publishChatMsg(`{"msgId":"${i}"}`)));
    expect(await eventually(() => handled.size === 40, 5000, 10)).toBeTruthy();
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
    await b.persist.consumeChatMsgs(async (json) => void persisted.push(json));
    expect(await a.link.health()).toBe("ok");

    const healths = new Set<string>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        healths.add(await a.link.health());
        await Bun.sleep(5);
      }
    })();
    await rabbitmqctl("close_all_connections", "-p", VHOST, "test: broker restart");
    expect(await eventually(async () => (await a.link.health()) !== "ok", 5000, 10)).toBeTruthy();
    expect(await a.link.health()).toBe("rabbitmq: disconnected (reconnecting)");
    const started = Date.now();
    await expect(a.bus.publish([b.id], pair("during outage"))).rejects.toThrow(/broker unavailable/);
    expect(Date.now() - started).toBeLessThan(100);

    expect(await eventually(async () => (await a.link.health()) === "ok" && (await b.link.health()) === "ok", 15_000, 10)).toBeTruthy();
    polling = false;
    await poll;
    expect(healths).toContain("rabbitmq: disconnected (reconnecting)");

    await a.bus.publish([b.id], pair("after recovery"));
    expect(await eventually(() => b.frames().includes("after recovery"), 5000, 10)).toBeTruthy();
    await a.persist.publishChatMsg('{"msgId":"after"}');
    expect(await eventually(() => persisted.includes('{"msgId":"after"}'), 5000, 10)).toBeTruthy();
  }, 30_000);
});
