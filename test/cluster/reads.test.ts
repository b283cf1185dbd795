// The group read state suite on a real 3-instance cluster on PostgreSQL (users spread over the
// instances), and on a 2-instance fanout cluster whose fanout_exchange (what seed instances read)
// never carries a receipt.
import { expect, test } from "bun:test";
import amqp from "amqplib";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { json } from "../support/feature-behaviour.ts";
import { describeReads } from "../support/read-behaviour.ts";
import { PG, REDIS_DB } from "../support/services.ts";
import { eventually } from "../support/wait.ts";
import { TestClient } from "../support/ws-client.ts";

describeReads("cluster group read state (3 instances, direct routing, PostgreSQL)", () =>
  startCluster({ size: 3, redisDb: REDIS_DB.reads, env: { DATABASE_URL: PG } }),
);

test("with fanout routing, a receipt crosses instances but never travels on fanout_exchange", async () => {
  const c: Cluster = await startCluster({ size: 2, redisDb: REDIS_DB.reads, env: { ROUTING: "fanout" } });
  const conn = await amqp.connect(c.baseEnv.AMQP_URL);
  const clients: TestClient[] = [];
  try {
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, "fanout_exchange", "");
    const bodies: string[] = [];
    await ch.consume(queue, (m) => m && bodies.push(m.content.toString()), { noAck: true });
    const [a, b] = [`a-${Date.now()}`, `b-${Date.now()}`];
    for (const [i, u] of [[0, a], [1, b]] as const) {
      const cl = await TestClient.open(c.wsUrl(i));
      clients.push(cl);
      cl.send({ chatMsg: { senderId: u, msgType: 0, clientMsgId: "init" }, features: ["reads"] });
      await cl.next((f) => f.ack?.clientMsgId === "init");
    }
    const [alice, bob] = clients;
    const groupId = (await json(`${c.httpUrl(0)}/chat/group/create`, { name: "fan", members: [b], ownerId: a })).body.data.groupId;
    const { msgId } = await alice.say(a, groupId, "on the fanout exchange", { communicationType: 2 });
    await bob.nextMessage((f) => f.chatMsg.msgId === msgId);
    bob.send({ read: { receiverId: groupId, msgId } });
    expect((await alice.next((f) => f.read)).read).toEqual({ receiverId: groupId, readerId: b, msgId });
    expect(await eventually(() => bodies.some((x) => x.includes("on the fanout exchange")), 3000)).toBe(true); // the control
    expect(bodies.filter((x) => x.includes('"read"') || x.includes("readerId"))).toEqual([]);
  } finally {
    for (const cl of clients) cl.close();
    await conn.close();
    await c.stop();
  }
}, 60_000);
