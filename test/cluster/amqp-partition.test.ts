// An instance cut off from RabbitMQ without a refusal (a forwarder that holds every byte): two
// missed heartbeats (AMQP_HEARTBEAT_S, 1 s) drop the connection, /health names RabbitMQ within
// 3 s, the instance's sends wait in its outbox, and once the network is back every frame is
// published, acked and delivered in both directions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startCutCluster, viaPort, type CutCluster } from "../support/partition.ts";
import { AMQP, REDIS_DB } from "../support/services.ts";
import { eventually } from "../support/wait.ts";

describe("an instance cut off from RabbitMQ without a refusal", () => {
  let cut: CutCluster;
  const health = async (i: number) => (await fetch(`${cut.c.httpUrl(i)}/health`, { signal: AbortSignal.timeout(3000) })).json() as Promise<any>;

  beforeAll(async () => {
    cut = await startCutCluster({
      service: AMQP, defaultPort: 5672, redisDb: REDIS_DB.amqpPartition, env: { AMQP_HEARTBEAT_S: "1" },
      through: (port, c) => ({ AMQP_URL: `${viaPort(AMQP, port).replace(/\/$/, "")}/${encodeURIComponent(c.namespace)}` }),
    });
  }, 60_000);
  afterAll(() => cut?.stop(), 60_000);

  test("seen within 3 s; what was sent during the cut is acked and delivered after the heal, both ways", async () => {
    const alice = await cut.login(1, "ap-alice"); // on the instance that will be cut
    const bob = await cut.login(0, "ap-bob");
    await alice.say("ap-alice", "ap-bob", "before");
    await bob.nextMessage((f) => f.chatMsg.msg === "before");

    cut.proxy.cut();
    const cutAt = performance.now();
    const seen = await eventually(async () => (await health(1)).checks?.rabbitmq !== "ok", 6000, 100);
    expect(seen).toBe(true);
    expect(performance.now() - cutAt).toBeLessThan(3500);

    for (let i = 0; i < 3; i++) {
      alice.send({ chatMsg: { senderId: "ap-alice", receiverId: "ap-bob", msg: `cut a→b ${i}`, msgType: 1, clientMsgId: `ab-${i}` } });
      await bob.say("ap-bob", "ap-alice", `cut b→a ${i}`); // the healthy instance: acked, held by the broker
    }
    await Bun.sleep(500);
    expect(alice.frames.filter((f) => f.ack?.clientMsgId?.startsWith("ab-"))).toEqual([]); // waiting in the outbox

    cut.proxy.heal();
    for (let i = 0; i < 3; i++) {
      expect((await alice.next((f) => f.ack?.clientMsgId === `ab-${i}` || (f.error && f.error.clientMsgId === `ab-${i}`), 20_000)).ack).toBeDefined();
      await bob.nextMessage((f) => f.chatMsg.msg === `cut a→b ${i}`, 10_000);
      await alice.nextMessage((f) => f.chatMsg.msg === `cut b→a ${i}`, 10_000);
    }
    expect((await health(1)).checks.rabbitmq).toBe("ok");
  }, 60_000);
});
