// Unread counters against a real Redis, in the seed lineage's `chat_msg_list:<receiverId>` hashes,
// and their durable path through the persistence queue on a real RabbitMQ.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { createQueuedUnread } from "../../lib/adapters/rabbitmq/queued-unread.ts";
import { connectAmqp } from "../../lib/adapters/rabbitmq/link.ts";
import { createPersistQueue } from "../../lib/adapters/rabbitmq/persist-queue.ts";
import type { StoredMsg } from "../../lib/core/ports.ts";
import { silentLogger } from "../../lib/log.ts";
import { eventually } from "../support/wait.ts";
import { useFlushedRedis } from "../support/redis.ts";
import { createRedisUnread, type UnreadRedis } from "../../lib/adapters/redis/unread.ts";
import { REDIS_DB, amqpUrl, rabbitmqctl, redisUrl } from "../support/services.ts";

const REDIS_URL = redisUrl(REDIS_DB.unread);
const useRedis = useFlushedRedis(REDIS_URL);
const unread = () => createRedisUnread(useRedis());


describe("redis unread counters", () => {
  test("increments are counted per sender in chat_msg_list:<receiverId> and read back as numbers", async () => {
    const counters = unread();
    await counters.increment({ receiverId: "r1", senderId: "s1" });
    await counters.increment({ receiverId: "r1", senderId: "s1" });
    await counters.increment({ receiverId: "r1", senderId: "s2" });
    expect(await counters.get("r1")).toEqual({ s1: 2, s2: 1 });
    expect(await useRedis().hgetall("chat_msg_list:r1")).toEqual({ s1: "2", s2: "1" });
  });

  test("a receiver without messages has no counters", async () => {
    expect(await unread().get("nobody")).toEqual({});
  });

  test("clear resets one sender to 0 as the seed does and leaves the others", async () => {
    const counters = unread();
    await counters.increment({ receiverId: "r2", senderId: "s1" });
    await counters.increment({ receiverId: "r2", senderId: "s2" });
    await counters.clear("r2", "s1");
    expect(await counters.get("r2")).toEqual({ s1: 0, s2: 1 });
    await counters.increment({ receiverId: "r2", senderId: "s1" });
    expect(await counters.get("r2")).toEqual({ s1: 1, s2: 1 });
  });

  test("uncount takes one off each receiver's counter, never below 0, and leaves values that are not counts alone", async () => {
    const counters = unread();
    await useRedis().hset("chat_msg_list:u5", "g", "2");
    await useRedis().hset("chat_msg_list:u6", "g", "0");
    await useRedis().hset("chat_msg_list:u7", "g", "garbage");
    await counters.uncount(["u5", "u6", "u7", "u8"], "g");
    expect(await useRedis().hget("chat_msg_list:u5", "g")).toBe("1");
    expect(await useRedis().hget("chat_msg_list:u6", "g")).toBe("0");
    expect(await useRedis().hget("chat_msg_list:u7", "g")).toBe("garbage");
    expect(await useRedis().exists("chat_msg_list:u8")).toBe(0); // no counter: none made
  });

  test("counts written by a seed service are read, and values that are not numbers are skipped", async () => {
    await useRedis().hset("chat_msg_list:r3", "s1", "7", "s2", "garbage");
    expect(await unread().get("r3")).toEqual({ s1: 7 });
  });

  test("the increments of one turn go in one pipeline, one HINCRBY … n per (receiver, sender)", async () => {
    const redis = useRedis();
    const sent: Array<[string, string, number]> = [];
    let pipelines = 0;
    const counting = {
      hincrby: redis.hincrby.bind(redis),
      hgetall: redis.hgetall.bind(redis),
      hset: redis.hset.bind(redis),
      pipeline() {
        pipelines++;
        const p = redis.pipeline();
        const hincrby = p.hincrby.bind(p);
        p.hincrby = ((key: string, field: string, n: number) => (sent.push([key, field, n]), hincrby(key, field, n))) as typeof p.hincrby;
        return p;
      },
    } as unknown as UnreadRedis;
    const counters = createRedisUnread(counting);
    const inc = (receiverId: string, senderId: string) => counters.increment({ receiverId, senderId });
    await Promise.all([inc("r5", "s1"), inc("r5", "s1"), inc("r5", "s2"), inc("r6", "s1"), inc("r5", "s1")]);
    expect(pipelines).toBe(1);
    expect(sent.sort()).toEqual([["chat_msg_list:r5", "s1", 3], ["chat_msg_list:r5", "s2", 1], ["chat_msg_list:r6", "s1", 1]]);
    expect(await counters.get("r5")).toEqual({ s1: 3, s2: 1 });
    await inc("r6", "s1"); // a later turn: a pipeline of its own
    expect(pipelines).toBe(2);
    expect(await counters.get("r6")).toEqual({ s1: 2 });
  });

  test("when Redis refuses a turn's pipeline, every increment of that turn rejects", async () => {
    const failing = { pipeline: () => ({ hincrby() {}, exec: async () => [[new Error("OOM command not allowed"), null]] }) } as unknown as UnreadRedis;
    const counters = createRedisUnread(failing);
    const both = [counters.increment({ receiverId: "r7", senderId: "s1" }), counters.increment({ receiverId: "r8", senderId: "s2" })];
    for (const p of both) await expect(p).rejects.toThrow("OOM");
  });

  test("concurrent increments are not lost", async () => {
    const counters = unread();
    await Promise.all(Array.from({ length: 50 }, () => counters.increment({ receiverId: "r4", senderId: "s1" })));
    expect(await counters.get("r4")).toEqual({ s1: 50 });
  });
});

describe("unread counters with the persistence queue (real Redis and RabbitMQ)", () => {
  const vhost = `im-test-unread-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const msg = (receiverId: string, senderId: string, msgId: string) =>
    ({ msgId, senderId, receiverId, msgType: 1, msg: "m", chatTime: "2024-01-05 03:04:09" }) as StoredMsg;

  /** The cluster's counters on a link of their own; `refuse` makes the Redis counter fail. */
  async function counters(opts: { feed?: boolean; refuse?: () => boolean } = {}) {
    const link = await connectAmqp({ url: amqpUrl(vhost), name: "unread-test", log: silentLogger });
    const persist = await createPersistQueue(link, { instanceId: "127.0.0.1_1", log: silentLogger, retryDelayMs: 50 });
    const redis = unread();
    const flaky = { ...redis, increment: (m: StoredMsg) => (opts.refuse?.() ? Promise.reject(new Error("redis down")) : redis.increment(m)) };
    const adopted: StoredMsg[] = [];
    const c = createQueuedUnread(persist, flaky, async (m) => adopted.push(m), silentLogger, opts.feed);
    await c.consume();
    return { c, persist, adopted, link, close: async () => (await persist.close(), await link.close()) };
  }

  beforeAll(async () => {
    await rabbitmqctl("add_vhost", vhost);
    await rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
  });
  afterAll(() => rabbitmqctl("delete_vhost", vhost).catch(() => {}));

  test("a count Redis cannot take goes through the queue and is counted once Redis takes it", async () => {
    let down = true;
    const { c, close } = await counters({ refuse: () => down });
    await c.increment(msg("q1", "s1", "1")); // resolves once the queue has it (confirmed)
    await c.increment(msg("q1", "s1", "2"));
    expect(await c.get("q1")).toEqual({});
    down = false; // the consumer's retries now land
    expect(await eventually(async () => (await c.get("q1")).s1 === 2, 5000)).toBe(true);
    await close();
  });

  test("with the feed on, every message goes through the queue and is counted exactly once", async () => {
    const { c, close } = await counters({ feed: true });
    for (let i = 0; i < 5; i++) await c.increment(msg("q2", "s1", String(i)));
    expect(await eventually(async () => (await c.get("q2")).s1 === 5, 5000)).toBe(true);
    await Bun.sleep(200); // nothing more arrives: counted by the consumer only, not also directly
    expect(await c.get("q2")).toEqual({ s1: 5 });
    await close();
  });
});

describe("pitayafruits_queue as the seed lineage uses it (real Redis and RabbitMQ)", () => {
  const vhost = `im-test-seedq-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    await rabbitmqctl("add_vhost", vhost);
    await rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
  });
  afterAll(() => rabbitmqctl("delete_vhost", vhost).catch(() => {}));

  async function setUp() {
    const link = await connectAmqp({ url: amqpUrl(vhost), name: "seed-queue-test", log: silentLogger });
    const persist = await createPersistQueue(link, { instanceId: "127.0.0.1_2", log: silentLogger, retryDelayMs: 50 });
    const adopted: StoredMsg[] = [];
    const c = createQueuedUnread(persist, unread(), async (m) => adopted.push(m), silentLogger, true);
    return { persist, adopted, c, close: async () => (await persist.close(), await link.close()) };
  }

  test("a seed instance's sendMsgToSave (Java types, msgId a number) is stored under its msgId and counted", async () => {
    const { persist, adopted, c, close } = await setUp();
    await c.consume();
    // As the seed's Jackson writes a ChatMsg: every field, nulls included, Integer flag.
    const seed = { senderId: "j1", receiverId: "j2", msg: "from java", msgType: 1, msgId: 7283946512837465, chatTime: "2024-01-05 03:04:09",
      showMsgDateTimeFlag: 1, videoPath: null, videoWidth: null, videoHeight: null, videoTimes: null, voicePath: null, speakVoiceDuration: null,
      isRead: false, communicationType: 1, isReceiverOnLine: true };
    await persist.publishChatMsg(JSON.stringify(seed));
    expect(await eventually(() => adopted.length === 1, 5000)).toBe(true);
    expect(adopted[0]).toMatchObject({ msgId: "7283946512837465", senderId: "j1", receiverId: "j2", msg: "from java", showMsgDateTimeFlag: 1, chatTime: "2024-01-05 03:04:09" });
    expect(await eventually(async () => (await c.get("j2")).j1 === 1, 5000)).toBe(true);
    await close();
  });

  test("a ChatMsg without a msgId or a receiver is dropped, not retried, and the next one is handled", async () => {
    const { persist, adopted, c, close } = await setUp();
    await c.consume();
    await persist.publishChatMsg(JSON.stringify({ senderId: "j1", receiverId: "j3", msg: "no id", msgType: 1 }));
    await persist.publishChatMsg(JSON.stringify({ senderId: "j1", msg: "no receiver", msgType: 1, msgId: "5" }));
    await persist.publishChatMsg(JSON.stringify({ senderId: "j1", receiverId: "j3", msg: "ok", msgType: 1, msgId: "6" }));
    expect(await eventually(() => adopted.length === 1, 5000)).toBe(true);
    expect(adopted.map((m) => m.msgId)).toEqual(["6"]);
    await close();
  });

  test("what this project publishes there carries only the lineage's ChatMsg fields", async () => {
    const { c, close } = await setUp();
    const conn = await amqp.connect(amqpUrl(vhost));
    const ch = await conn.createChannel();
    const probe = "seed-feed-probe";
    await ch.assertQueue(probe, { durable: false });
    await ch.bindQueue(probe, "pitayafruits_exchange", "pitayafruits.wechat.#");
    await c.increment({ msgId: "9", senderId: "u1", receiverId: "u2", msgType: 1, msg: "hi", chatTime: "2024-01-05 03:04:09", clientMsgId: "c-9", showMsgDateTimeFlag: 1 } as StoredMsg);
    const body = await eventually(async () => {
      const m = await ch.get(probe, { noAck: true });
      return m ? m.content.toString("utf8") : undefined;
    }, 5000);
    await conn.close();
    expect(JSON.parse(body!)).toEqual({ msgId: "9", senderId: "u1", receiverId: "u2", msgType: 1, msg: "hi", chatTime: "2024-01-05 03:04:09", showMsgDateTimeFlag: 1 });
    await close();
  });
});
