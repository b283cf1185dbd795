// The features suite on a real 3-instance cluster on PostgreSQL (users spread over the instances),
// presence when the instance holding a user is killed with SIGKILL, and a 2-instance fanout cluster
// whose fanout_exchange (what seed instances read) never carries a feature frame.
import { expect, test } from "bun:test";
import amqp from "amqplib";
import { startCluster } from "../support/cluster.ts";
import { describeFeatures, FEATURE_ENV } from "../support/feature-behaviour.ts";
import { PG, REDIS_DB } from "../support/services.ts";
import { eventually } from "../support/wait.ts";

describeFeatures(
  "cluster features (3 instances, direct routing, PostgreSQL)",
  () => startCluster({ size: 3, redisDb: REDIS_DB.features, env: { ...FEATURE_ENV, DATABASE_URL: PG, ZK_SESSION_TIMEOUT_MS: "4000" } }),
  ({ target, user, declared, login }) => {
    test("users of an instance killed with SIGKILL are announced offline once its routes are purged; a user with another device is not", async () => {
      const c = target();
      const [a, b, d] = [user("a"), user("b"), user("d")];
      const watcher = await declared(0, a);
      const other = await declared(1, user("o"));
      watcher.send({ presence: { subscribe: [b, d], clientMsgId: "w" } });
      other.send({ presence: { subscribe: [b], clientMsgId: "o" } });
      // The current states (offline) come first, then the ack.
      await watcher.next((f) => f.ack?.clientMsgId === "w");
      await other.next((f) => f.ack?.clientMsgId === "o");
      expect(watcher.frames.splice(0).map((f) => f.presence?.online)).toEqual([false, false]);
      expect(other.frames.splice(0).map((f) => f.presence?.online)).toEqual([false]);
      await login(2, b);
      await login(2, d);
      await login(1, d); // d has another device on a live instance
      for (const [w, u] of [[watcher, b], [watcher, d], [other, b]] as const) await w.next((f) => f.presence?.userId === u && f.presence.online);
      const killedAt = Date.now();
      c.nodes[2].proc.kill("SIGKILL");
      const off = await watcher.next((f) => f.presence?.userId === b && f.presence.online === false, 20_000);
      expect(off.presence.lastSeen).toBeGreaterThanOrEqual(killedAt);
      await other.next((f) => f.presence?.userId === b && f.presence.online === false, 5000);
      // Announced once though both survivors purge; d stays online (its other device).
      await watcher.expectNothing(1500, (f) => f.presence?.userId === b || f.presence?.userId === d);
      await other.expectNothing(0, (f) => f.presence?.userId === b);
      const q = await fetch(`${c.httpUrl(0)}/chat/presence?userIds=${b},${d}`).then((r) => r.json());
      expect(q.data.map((p: any) => [p.userId, p.online])).toEqual([[b, false], [d, true]]);
    }, 40_000);

    test("users of an instance killed and restarted at once on the same port are announced offline (the restart removed their routes)", async () => {
      const c = target();
      const [a, b] = [user("a"), user("b")];
      const watcher = await declared(0, a);
      watcher.send({ presence: { subscribe: [b], clientMsgId: "w" } });
      await watcher.next((f) => f.ack?.clientMsgId === "w");
      watcher.frames.splice(0);
      await login(1, b);
      await watcher.next((f) => f.presence?.userId === b && f.presence.online);
      const { port } = c.nodes[1];
      c.nodes[1].proc.kill("SIGKILL");
      await c.start({ PORT: String(port) }); // back before its old registration expires
      await watcher.next((f) => f.presence?.userId === b && f.presence.online === false, 20_000);
      await watcher.expectNothing(1000, (f) => f.presence?.userId === b);
    }, 40_000);
  },
);

describeFeatures(
  "cluster features (2 instances, fanout routing, shared SQLite)",
  () => startCluster({ size: 2, redisDb: REDIS_DB.clusterChatFanout, env: { ...FEATURE_ENV, ROUTING: "fanout" } }),
  ({ target, user, declared }) => {
    test("presence and typing frames never travel on fanout_exchange, where seed instances would hand them to their clients", async () => {
      const c = target();
      const conn = await amqp.connect(c.baseEnv.AMQP_URL);
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue("", { exclusive: true });
      await ch.bindQueue(queue, "fanout_exchange", "");
      const bodies: string[] = [];
      await ch.consume(queue, (m) => m && bodies.push(m.content.toString()), { noAck: true });
      try {
        const [a, b] = [user("a"), user("b")];
        const alice = await declared(0, a);
        alice.send({ presence: { subscribe: [b] } });
        await alice.next((f) => f.presence);
        const bob = await declared(1, b);
        await alice.next((f) => f.presence?.online === true);
        bob.send({ typing: { receiverId: a } });
        expect((await alice.next((f) => f.typing)).typing).toEqual({ senderId: b, receiverId: a });
        await alice.say(a, b, "on the fanout exchange"); // the control: chat does travel there
        await bob.nextMessage();
        expect(await eventually(() => bodies.some((x) => x.includes("on the fanout exchange")), 3000)).toBe(true);
        expect(bodies.filter((x) => x.includes("presence") || x.includes("typing"))).toEqual([]);
      } finally {
        await conn.close();
      }
    });
  },
);
