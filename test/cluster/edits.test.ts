// Recall, edit and delete-for-me on a real 3-instance cluster on PostgreSQL, users spread over the
// instances (the suite in test/support/edit-behaviour.ts), and a 2-instance fanout cluster whose
// fanout_exchange (what seed instances read) never carries their frames.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { describeEdits, EDIT_ENV } from "../support/edit-behaviour.ts";
import { PG, REDIS_DB } from "../support/services.ts";
import { eventually } from "../support/wait.ts";
import { TestClient } from "../support/ws-client.ts";

describeEdits(
  "cluster recall, edit and delete (3 instances, direct routing, PostgreSQL)",
  () => startCluster({ size: 3, redisDb: REDIS_DB.edits, env: { ...EDIT_ENV, DATABASE_URL: PG } }),
);

describe("cluster recall, edit and delete (2 instances, fanout routing, shared SQLite)", () => {
  let fanout: Cluster;
  // Started once the suite above stopped its cluster: both use Redis database 0, which a start flushes.
  beforeAll(async () => {
    fanout = await startCluster({ size: 2, redisDb: REDIS_DB.edits, env: { ...EDIT_ENV, ROUTING: "fanout" } });
  }, 60_000);
  afterAll(() => fanout?.stop(), 60_000);

  test("with fanout routing, recall, edit and delete frames cross instances but never on fanout_exchange", async () => {
    const conn = await amqp.connect(fanout.baseEnv.AMQP_URL);
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, "fanout_exchange", "");
    const bodies: string[] = [];
    await ch.consume(queue, (m) => m && bodies.push(m.content.toString()), { noAck: true });
    const clients: TestClient[] = [];
    try {
      const [a, b] = [`fa-${Date.now()}`, `fb-${Date.now()}`];
      const open = async (i: number, u: string) => {
        const c = await TestClient.login(fanout.wsUrl(i), u, {});
        clients.push(c);
        return c;
      };
      const alice = await TestClient.open(fanout.wsUrl(0));
      clients.push(alice);
      alice.send({ chatMsg: { senderId: a, msgType: 0, clientMsgId: "i" }, features: ["edit"] });
      await alice.next((f) => f.ack);
      const bob = await TestClient.open(fanout.wsUrl(1));
      clients.push(bob);
      bob.send({ chatMsg: { senderId: b, msgType: 0, clientMsgId: "i" }, features: ["edit"] });
      await bob.next((f) => f.ack);
      const bobSeed = await open(1, b);
      const m = await alice.say(a, b, "on the fanout exchange"); // the control: chat does travel there
      alice.send({ edit: { msgId: m.msgId, msg: "edited text", clientMsgId: "e" } });
      expect((await bob.next((f) => f.edit)).edit.msg).toBe("edited text");
      alice.send({ recall: { msgId: m.msgId, clientMsgId: "r" } });
      await bob.next((f) => f.recall);
      bob.send({ delete: { msgId: m.msgId, clientMsgId: "d" } });
      await bob.next((f) => f.ack?.clientMsgId === "d");
      expect(await eventually(() => bodies.some((x) => x.includes("on the fanout exchange")), 3000)).toBe(true);
      await bobSeed.expectNothing(300, (f) => f.edit || f.recall || f.delete);
      expect(bodies.filter((x) => /recall|edit|delete/.test(x))).toEqual([]);
    } finally {
      for (const c of clients) c.close();
      await conn.close();
    }
  }, 30_000);
});
