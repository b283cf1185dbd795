// A seed Java instance beside a cluster of ours (fanout routing, the seed's feed on), with the real
// RabbitMQ Java client and Jackson (test/java/lineage/SeedBus.java): it parses, strictly, every
// payload shape we put on fanout_exchange and pitayafruits_exchange; what it publishes there
// reaches our clients, and its sendMsgToSave is stored, counted and shown in history.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { spawnJava, type JavaProcess } from "../support/java.ts";
import { REDIS_DB, amqpUrl } from "../support/services.ts";
import { eventually } from "../support/wait.ts";
import { TestClient } from "../support/ws-client.ts";

const ADMIN = "admin-token-0123456789";

describe("a seed Java instance on the same RabbitMQ (fanout routing)", () => {
  let c: Cluster;
  let fanout: JavaProcess;
  let feed: JavaProcess;
  const clients: TestClient[] = [];
  const login = async (i: number, user: string) => {
    const cl = await TestClient.login(c.wsUrl(i), user);
    clients.push(cl);
    return cl;
  };
  const api = async (path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${c.httpUrl(0)}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await res.json()) as any;
  };
  /** The probe's lines of chat messages (not receipts) whose body names `msgId`; refusals are checked apart. */
  const linesOf = (p: JavaProcess, msgId: string) => p.lines.filter((l) => l.includes(`"${msgId}"`) && !l.includes('"msgType":8'));

  beforeAll(async () => {
    c = await startCluster({ size: 2, redisDb: REDIS_DB.lineage, env: { ROUTING: "fanout", PERSIST_FEED: "on", ADMIN_TOKEN: ADMIN } });
    fanout = await spawnJava("SeedBus", ["consume", amqpUrl(c.namespace), "fanout_exchange", "", "DataContent"]);
    feed = await spawnJava("SeedBus", ["consume", amqpUrl(c.namespace), "pitayafruits_exchange", "pitayafruits.wechat.#", "ChatMsg"]);
    await fanout.line((l) => l === "READY", 30_000);
    await feed.line((l) => l === "READY", 30_000);
  }, 90_000);
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await fanout?.kill();
    await feed?.kill();
    await c?.stop();
  }, 60_000);

  test("every shape we publish parses strictly into the seed's DataContent and ChatMsg", async () => {
    const alice = await login(0, "ln-alice");
    const bob = await login(1, "ln-bob");
    const acks: Record<string, string> = {};
    const words = await alice.say("ln-alice", "ln-bob", "with clientMsgId");
    acks.words = words.msgId;
    // Our instance on the other end still gets the whole frame (from the x-im-frame header).
    expect((await bob.nextMessage((f) => f.chatMsg.msgId === words.msgId)).chatMsg.clientMsgId).toBe(words.clientMsgId);
    alice.send({ chatMsg: { senderId: "ln-alice", receiverId: "ln-bob", msg: "no clientMsgId", msgType: 1 } });
    acks.plain = (await bob.nextMessage((f) => f.chatMsg.msg === "no clientMsgId")).chatMsg.msgId;
    acks.image = (await alice.say("ln-alice", "ln-bob", "http://img/cover.png", { msgType: 2 })).msgId;
    acks.voice = (await alice.say("ln-alice", "ln-bob", "", { msgType: 3, voicePath: "http://v/a.mp3", speakVoiceDuration: 4 })).msgId;
    acks.video = (await alice.say("ln-alice", "ln-bob", "http://v/cover.png", { msgType: 4, videoPath: "http://v/b.mp4", videoWidth: "640", videoHeight: 480, videoTimes: 12, showMsgDateTimeFlag: 1 })).msgId;
    bob.send({ chatMsg: { msgType: 8, msgId: acks.words } });
    await alice.nextMessage((f) => f.chatMsg.msgType === 8 && f.chatMsg.msgId === acks.words);
    const group = (await api("/chat/group/create", { name: "Lineage", ownerId: "ln-alice", members: ["ln-bob"] })).data.groupId;
    acks.group = (await alice.say("ln-alice", group, "to the group", { communicationType: 2 })).msgId;
    acks.broadcast = (await api("/chat/broadcast", { msg: "to everyone" }, { authorization: `Bearer ${ADMIN}` })).data.msgId;
    await bob.nextMessage((f) => f.chatMsg.msgId === acks.broadcast);

    for (const [shape, msgId] of Object.entries(acks)) {
      const lines = await eventually(() => (linesOf(fanout, msgId).length ? linesOf(fanout, msgId) : undefined), 5000);
      expect({ shape, lines }).toEqual({ shape, lines: [expect.stringMatching(/^OK /)] });
    }
    const signed = fanout.lines.filter((l) => l.includes('"msgType":8'));
    expect(signed.length).toBeGreaterThan(0);
    expect(fanout.lines.filter((l) => l.startsWith("ERR"))).toEqual([]);
    const video = JSON.parse(linesOf(fanout, acks.video)[0].slice(3));
    expect(video.chatMsg).toMatchObject({ msgType: 4, videoWidth: 640, showMsgDateTimeFlag: 1, senderId: "ln-alice" });

    // The feed carries 1:1 messages, as the seed's did (group messages are counted per member in Redis).
    for (const shape of ["words", "plain", "image", "voice", "video"]) {
      const lines = await eventually(() => (linesOf(feed, acks[shape]).length ? linesOf(feed, acks[shape]) : undefined), 5000);
      expect({ shape, lines }).toEqual({ shape, lines: [expect.stringMatching(/^OK /)] });
    }
    expect(feed.lines.filter((l) => l.startsWith("ERR"))).toEqual([]);
  }, 60_000);

  test("a Java consumer competing on pitayafruits_queue gets its share of our feed, each one parsed strictly", async () => {
    const java = await spawnJava("SeedBus", ["compete", amqpUrl(c.namespace), "pitayafruits_queue", "ChatMsg"]);
    try {
      await java.line((l) => l === "READY", 30_000);
      const erin = await login(0, "ln-erin");
      await login(1, "ln-fred");
      for (let i = 0; i < 12; i++) await erin.say("ln-erin", "ln-fred", `feed ${i}`);
      // Three consumers on the queue (two instances and this one): the broker hands out in turn.
      const got = await eventually(() => (java.lines.filter((l) => l.includes("feed ")).length >= 2 ? java.lines.filter((l) => l.includes("feed ")) : undefined), 5000);
      expect(got!.every((l) => l.startsWith("OK "))).toBe(true);
      expect(java.lines.filter((l) => l.startsWith("ERR"))).toEqual([]);
    } finally {
      await java.kill();
    }
  }, 30_000);

  test("a DataContent the seed instance publishes on fanout_exchange reaches our clients", async () => {
    const carol = await login(1, "ln-carol");
    const dc = { chatMsg: { senderId: "ln-java", receiverId: "ln-carol", msg: "from a seed instance", msgType: 1, msgId: "7283946512837400001", chatTime: "2024-01-05 03:04:09", showMsgDateTimeFlag: 1 }, chatTime: "2024/01/05 03:04:09", extend: "java-channel" };
    const [published] = await runSeedPublish("fanout_exchange", "", [JSON.stringify(dc)]);
    expect(published).toBe("PUBLISHED 1");
    expect((await carol.nextMessage((f) => f.chatMsg.msgId === dc.chatMsg.msgId)).chatMsg).toMatchObject({ msg: "from a seed instance", showMsgDateTimeFlag: 1 });
  }, 30_000);

  test("a seed instance's sendMsgToSave is stored under its msgId, counted unread and in history within 2 s", async () => {
    const chatMsg = { senderId: "ln-java", receiverId: "ln-dave", msg: "saved by the queue", msgType: 1, msgId: "7283946512837400002", chatTime: "2024-01-05 03:04:10", showMsgDateTimeFlag: 0, isRead: false, communicationType: 1, isReceiverOnLine: false };
    const [published] = await runSeedPublish("pitayafruits_exchange", "pitayafruits.wechat.send", [JSON.stringify(chatMsg)]);
    expect(published).toBe("PUBLISHED 1");
    const started = Date.now();
    const rows = await eventually(async () => {
      const h = await api("/chat/list/ln-dave/ln-java");
      return h.data.rows.length ? h.data.rows : undefined;
    }, 2000, 50);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(rows).toEqual([expect.objectContaining({ msgId: chatMsg.msgId, msg: "saved by the queue", senderId: "ln-java", chatTime: "2024-01-05 03:04:10" })]);
    expect(await eventually(async () => (await c.redis.hget("chat_msg_list:ln-dave", "ln-java")) === "1", 2000)).toBe(true);
    // Published again (at-least-once): still one row.
    await runSeedPublish("pitayafruits_exchange", "pitayafruits.wechat.send", [JSON.stringify(chatMsg)]);
    await eventually(async () => (await c.redis.hget("chat_msg_list:ln-dave", "ln-java")) === "2", 2000);
    expect((await api("/chat/list/ln-dave/ln-java")).data.rows.length).toBe(1);
  }, 30_000);

  async function runSeedPublish(exchange: string, key: string, lines: string[]): Promise<string[]> {
    const { runJava } = await import("../support/java.ts");
    return runJava("SeedBus", ["publish", amqpUrl(c.namespace), exchange, key], lines.join("\n") + "\n");
  }
});
