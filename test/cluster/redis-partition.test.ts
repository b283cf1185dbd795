// A silent partition between one instance and Redis (a forwarder that holds every byte; the
// sockets stay open): the instance sees it within 2 × REDIS_TIMEOUT_MS, /health answers in its
// own bound naming Redis, chat through that instance goes on by broadcast routing, and once the
// network is back the instance reconnects and is healthy again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startCutCluster, type CutCluster } from "../support/partition.ts";
import { REDIS, REDIS_DB } from "../support/services.ts";

const TIMEOUT_MS = 1000;

describe("an instance cut off from Redis without a refusal", () => {
  let cut: CutCluster;
  const health = async (i: number) => {
    const started = performance.now();
    const res = await fetch(`${cut.c.httpUrl(i)}/health`, { signal: AbortSignal.timeout(5000) });
    return { ms: performance.now() - started, status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    cut = await startCutCluster({
      service: REDIS, defaultPort: 6379, redisDb: REDIS_DB.redisPartition, env: { REDIS_TIMEOUT_MS: String(TIMEOUT_MS) },
      through: (port) => ({ REDIS_URL: `redis://127.0.0.1:${port}/${REDIS_DB.redisPartition}` }),
    });
  }, 60_000);
  afterAll(() => cut?.stop(), 60_000);

  test("detected within 2 s, /health says so in time, chat goes on both ways, healthy again after the heal", async () => {
    const alice = await cut.login(1, "rp-alice"); // on the instance that will be cut
    const bob = await cut.login(0, "rp-bob");
    await alice.say("rp-alice", "rp-bob", "before");
    await bob.nextMessage((f) => f.chatMsg.msg === "before");
    expect((await health(1)).status).toBe(200);

    cut.proxy.cut();
    const cutAt = performance.now();
    let seen: Awaited<ReturnType<typeof health>> | undefined;
    while (performance.now() - cutAt < 6000) {
      const h = await health(1);
      expect(h.ms).toBeLessThan(2000); // /health's own bound (1.5 s per check)
      if (h.status === 503) {
        seen = h;
        break;
      }
      await Bun.sleep(100);
    }
    const detectedMs = performance.now() - cutAt;
    expect(seen?.body.failing).toContain("redis");
    expect(detectedMs).toBeLessThan(2 * TIMEOUT_MS + 1000);

    // Sends through the cut instance: acked within a bound (the lookup fails, the message is
    // broadcast; the count takes the queue) and delivered.
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const ack = await alice.say("rp-alice", "rp-bob", `during ${i}`);
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
      expect((await bob.nextMessage((f) => f.chatMsg.msg === `during ${i}`)).chatMsg.msgId).toBe(ack.msgId);
    }
    // The other way: the healthy instance still finds alice's route and reaches her.
    await bob.say("rp-bob", "rp-alice", "to the cut side");
    await alice.nextMessage((f) => f.chatMsg.msg === "to the cut side");

    cut.proxy.heal();
    const healedAt = performance.now();
    while ((await health(1)).status !== 200) {
      expect(performance.now() - healedAt).toBeLessThan(15_000);
      await Bun.sleep(200);
    }
    await alice.say("rp-alice", "rp-bob", "after");
    await bob.nextMessage((f) => f.chatMsg.msg === "after");
  }, 60_000);
});
