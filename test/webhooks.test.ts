// Webhooks and the backend's send route on a real standalone instance and a real 3-instance cluster,
// with a real HTTP receiver: signed events, the offline event, a receiver that is down and comes
// back, the idempotency key, and the route's refusals.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { webhookSignature, type WebhookEvent } from "../lib/adapters/webhooks.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { REDIS_DB } from "./support/services.ts";
import { standaloneTarget, type Target } from "./support/target.ts";
import { eventually } from "./support/wait.ts";
import { TestClient } from "./support/ws-client.ts";

const SECRET = "webhook-secret-for-tests";
const ADMIN = "admin-token-for-the-tests";

/** An app backend: records every verified event; `down()` stops it listening, `up()` starts it again on its port. */
async function backend() {
  const events: WebhookEvent[] = [];
  let forged = 0;
  let server: ReturnType<typeof Bun.serve> | undefined;
  const start = (port = 0) =>
    (server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      async fetch(req) {
        const body = await req.text();
        const ok = req.headers.get("x-im-signature") === webhookSignature(SECRET, req.headers.get("x-im-timestamp") ?? "", body);
        if (!ok) forged++;
        else events.push(JSON.parse(body));
        return new Response(null, { status: ok ? 204 : 401 });
      },
    }));
  start();
  const port = server!.port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    events,
    forged: () => forged,
    of: (msgId: string, event: WebhookEvent["event"]) => events.filter((e) => e.data.msgId === msgId && e.event === event),
    down: () => server!.stop(true),
    up: () => void start(port),
    stop: () => server?.stop(true),
  };
}

async function sendAs(httpUrl: string, body: object, key?: string, token = ADMIN) {
  const res = await fetch(`${httpUrl}/chat/send`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** The same checks on any target: `t.wsUrl(i)` for i < size. */
function webhookBehaviour(name: string, start: (hookUrl: string) => Promise<Target>) {
  describe(name, () => {
    let t: Target;
    let b: Awaited<ReturnType<typeof backend>>;
    const last = () => Math.max(0, t.size - 1);
    beforeAll(async () => {
      b = await backend();
      t = await start(b.url);
    }, 60_000);
    afterAll(async () => {
      await t?.stop();
      b?.stop();
    });

    test("a stored message is posted once, signed; a receiver with no connection gets the offline event", async () => {
      const [a, bo, ca] = [`wa-${name.length}`, `wb-${name.length}`, `wc-${name.length}`];
      const alice = await TestClient.login(t.wsUrl(0), a);
      const bob = await TestClient.login(t.wsUrl(last()), bo);
      const toBob = await alice.say(a, bo, "bob is here");
      const toCarol = await alice.say(a, ca, "carol is not");
      expect(await eventually(() => b.of(toCarol.msgId, "message.offline").length === 1, 5000)).toBe(true);
      expect(b.of(toBob.msgId, "message.stored")).toHaveLength(1);
      expect(b.of(toCarol.msgId, "message.stored")).toHaveLength(1);
      expect(b.of(toCarol.msgId, "message.offline")[0].data.offlineUserIds).toEqual([ca]);
      expect(b.of(toBob.msgId, "message.offline")).toHaveLength(0); // bob is connected, on another instance in a cluster
      expect(b.of(toBob.msgId, "message.stored")[0].data).toMatchObject({ senderId: a, receiverId: bo, msg: "bob is here" });
      expect(b.forged()).toBe(0);
      alice.close();
      bob.close();
    });

    test("a recall and an edit are posted once each, naming the message and its event; a repeated recall posts nothing", async () => {
      const [a, bo] = [`wr-${name.length}`, `ws-${name.length}`];
      const alice = await TestClient.open(t.wsUrl(0));
      alice.send({ chatMsg: { senderId: a, msgType: 0, clientMsgId: "init" }, features: ["edit"] });
      await alice.next((f) => f.ack?.clientMsgId === "init");
      const edited = await alice.say(a, bo, "helo");
      const recalled = await alice.say(a, bo, "oops");
      const request = async (frame: object, clientMsgId: string) => {
        alice.send(frame);
        const reply = await alice.next((f) => f.ack?.clientMsgId === clientMsgId || f.error?.clientMsgId === clientMsgId);
        if (!reply.ack) throw new Error(JSON.stringify(reply));
        return reply.ack.msgId;
      };
      const editId = await request({ edit: { msgId: edited.msgId, msg: "hello", clientMsgId: "e1" } }, "e1");
      const recallId = await request({ recall: { msgId: recalled.msgId, clientMsgId: "r1" } }, "r1");
      expect(await request({ recall: { msgId: recalled.msgId, clientMsgId: "r2" } }, "r2")).toBeDefined(); // harmless, changes nothing
      expect(await eventually(() => b.of(edited.msgId, "message.edited").length === 1 && b.of(recalled.msgId, "message.recalled").length === 1, 5000)).toBe(true);
      expect(b.of(edited.msgId, "message.edited")[0].data).toMatchObject({ msgId: edited.msgId, eventId: editId, senderId: a, receiverId: bo, msg: "hello" });
      expect(b.of(recalled.msgId, "message.recalled")[0].data).toMatchObject({ msgId: recalled.msgId, eventId: recallId, senderId: a, receiverId: bo });
      await Bun.sleep(300);
      expect(b.of(recalled.msgId, "message.recalled")).toHaveLength(1);
      alice.close();
    });

    test("a receiver that is down and comes back gets what happened meanwhile; the acks did not wait for it", async () => {
      const a = `wd-${name.length}`;
      const alice = await TestClient.login(t.wsUrl(0), a);
      b.down();
      const sent: Array<{ msgId: string }> = [];
      const started = performance.now();
      for (let i = 0; i < 5; i++) sent.push(await alice.say(a, `we-${name.length}`, `while down ${i}`));
      expect(performance.now() - started).toBeLessThan(2000);
      await Bun.sleep(300); // every first try (and a few retries) hit the closed port
      b.up();
      const all = (event: WebhookEvent["event"]) => sent.every((s) => b.of(s.msgId, event).length === 1);
      expect(await eventually(() => all("message.stored") && all("message.offline"), 15_000)).toBe(true);
      alice.close();
    }, 30_000);

    test("the backend sends as a user with an idempotency key: the same key sends once, every device gets it", async () => {
      const [a, bo] = [`wg-${name.length}`, `wf-${name.length}`];
      const bob = await TestClient.login(t.wsUrl(last()), bo);
      const aliceDevice = await TestClient.login(t.wsUrl(0), a);
      const body = { senderId: a, receiverId: bo, msg: "from the backend" };
      const first = await sendAs(t.httpUrl(0), body, `order-42-${name.length}`);
      expect(first.status).toBe(200);
      expect(first.body.data).toMatchObject({ duplicate: false });
      const again = await sendAs(t.httpUrl(last()), body, `order-42-${name.length}`); // another instance, the same key
      expect(again.body.data).toMatchObject({ msgId: first.body.data.msgId, duplicate: true });
      const got = await bob.nextMessage((f) => f.chatMsg.msg === "from the backend");
      expect(got.chatMsg.msgId).toBe(first.body.data.msgId);
      await aliceDevice.nextMessage((f) => f.chatMsg.msgId === first.body.data.msgId); // the sender's own device too
      await Bun.sleep(300); // a second message would arrive within this
      // A cluster hands a resend's stored message on again (its first attempt may have died between
      // store and publish): the same msgId, which clients drop; never a second message.
      expect(bob.frames.filter((f) => f.chatMsg?.msg === "from the backend" && f.chatMsg.msgId !== got.chatMsg.msgId)).toHaveLength(0);
      bob.close();
      aliceDevice.close();
    });

    test("the send route refuses what it cannot send, with a status and a reason", async () => {
      const ok = { senderId: "wh", receiverId: "wi", msg: "x" };
      expect((await sendAs(t.httpUrl(0), ok, "k1", "wrong-token-of-some-length")).status).toBe(401);
      expect((await sendAs(t.httpUrl(0), ok)).body.msg).toContain("Idempotency-Key");
      expect((await sendAs(t.httpUrl(0), ok, "x".repeat(61))).status).toBe(400);
      expect((await sendAs(t.httpUrl(0), { ...ok, senderId: "bad id" }, "k2")).status).toBe(400);
      expect((await sendAs(t.httpUrl(0), { ...ok, receiverId: "system" }, "k3")).status).toBe(400);
      expect((await sendAs(t.httpUrl(0), { ...ok, msg: "" }, "k4")).status).toBe(400);
      expect((await sendAs(t.httpUrl(0), { ...ok, msgType: 8 }, "k5")).status).toBe(400);
      expect((await sendAs(t.httpUrl(0), { ...ok, receiverId: "group:999999" }, "k6")).status).toBe(404);
      const huge = await fetch(`${t.httpUrl(0)}/chat/send`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}`, "idempotency-key": "k7" },
        body: JSON.stringify({ ...ok, msg: "y".repeat(2 * 1024 * 1024) }),
      });
      expect(huge.status).toBe(413);
    });
  });
}

webhookBehaviour("standalone", (url) => standaloneTarget({ WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BASE_MS: "100", ADMIN_TOKEN: ADMIN }));
webhookBehaviour("a 3-instance cluster", (url): Promise<Cluster> =>
  startCluster({ size: 3, redisDb: REDIS_DB.webhooks, env: { WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BASE_MS: "100", ADMIN_TOKEN: ADMIN } }),
);

describe("webhook configuration", () => {
  test("a URL without a secret, a bad URL and a short secret stop the start with the variable named", async () => {
    const { loadConfig } = await import("../lib/config.ts");
    expect(() => loadConfig({ WEBHOOK_URL: "http://127.0.0.1:9/h" })).toThrow("WEBHOOK_SECRET");
    expect(() => loadConfig({ WEBHOOK_URL: "ftp://x/h", WEBHOOK_SECRET: SECRET })).toThrow("WEBHOOK_URL");
    expect(() => loadConfig({ WEBHOOK_URL: "http://127.0.0.1:9/h", WEBHOOK_SECRET: "short" })).toThrow("WEBHOOK_SECRET");
  });
});
