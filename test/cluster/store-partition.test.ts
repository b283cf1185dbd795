// An instance cut off from PostgreSQL without a refusal (a forwarder that holds every byte): a chat
// message's store write is bounded by STORE_TIMEOUT_MS, so the sender is told UNAVAILABLE naming
// its clientMsgId instead of waiting forever; /health names the store in its own bound; after the
// heal the resend is acked and delivered once, whether or not the first write landed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startCutCluster, viaPort, type CutCluster } from "../support/partition.ts";
import { PG, REDIS_DB } from "../support/services.ts";

const TIMEOUT_MS = 1000;

describe("an instance cut off from its PostgreSQL store without a refusal", () => {
  let cut: CutCluster;

  beforeAll(async () => {
    cut = await startCutCluster({
      service: PG, defaultPort: 5432, redisDb: REDIS_DB.storePartition, env: { DATABASE_URL: PG, STORE_TIMEOUT_MS: String(TIMEOUT_MS) },
      through: (port) => ({ DATABASE_URL: viaPort(PG, port) }),
    });
  }, 60_000);
  afterAll(() => cut?.stop(), 60_000);

  test("the sender hears UNAVAILABLE for its clientMsgId in time; its resend after the heal is delivered once", async () => {
    const tag = Date.now().toString(36);
    const [a, b] = [`sp-alice-${tag}`, `sp-bob-${tag}`];
    const alice = await cut.login(1, a); // on the instance that will be cut
    const bob = await cut.login(0, b);
    await alice.say(a, b, "before");
    await bob.nextMessage((f) => f.chatMsg.msg === "before");

    cut.proxy.cut();
    const started = performance.now();
    alice.send({ chatMsg: { senderId: a, receiverId: b, msg: "during the cut", msgType: 1, clientMsgId: "sp-1" } });
    const reply = await alice.next((f) => f.ack?.clientMsgId === "sp-1" || f.error?.clientMsgId === "sp-1", 5000);
    expect(reply.error?.code).toBe("UNAVAILABLE");
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    const health = await fetch(`${cut.c.httpUrl(1)}/health`, { signal: AbortSignal.timeout(2500) });
    expect(health.status).toBe(503);
    expect(((await health.json()) as any).failing).toContain("store");

    cut.proxy.heal();
    const ack = await alice.say(a, b, "during the cut", { clientMsgId: "sp-1" });
    const got = await bob.nextMessage((f) => f.chatMsg.msg === "during the cut", 10_000);
    expect(got.chatMsg.msgId).toBe(ack.msgId);
    await bob.expectNothing(500, (f) => f.chatMsg?.msg === "during the cut");
    const history = (await (await fetch(`${cut.c.httpUrl(0)}/chat/list/${a}/${b}`, { method: "POST" })).json()) as any;
    expect(history.data.rows.filter((r: any) => r.msg === "during the cut").map((r: any) => r.msgId)).toEqual([ack.msgId]);
  }, 60_000);
});
