// The webhook sender (lib/adapters/webhooks.ts) on fake time and a fake fetch: signatures, the
// offline event, retries with backoff, what is final, the queue's bound.
import { expect, test } from "bun:test";
import { createWebhooks, webhookSignature, type WebhookEvent } from "../../lib/adapters/webhooks.ts";
import type { Audience, StoredMsg } from "../../lib/core/ports.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";

const SECRET = "0123456789abcdef-secret";
const msg = (msgId: string, receiverId = "bob"): StoredMsg => ({ msgId, senderId: "alice", receiverId, msgType: 1, msg: "hi", chatTime: "2026-12-07 10:00:00" });
const pair: Audience = { kind: "pair", receiverId: "bob", senderId: "alice" };

/** A backend answering with `statuses` in turn (then 200), recording every request; timers run by hand. */
function harness(statuses: number[] = [], online: string[] = [], opts: { queueMax?: number; attempts?: number } = {}) {
  const requests: Array<{ headers: Headers; body: string }> = [];
  const timers: Array<{ ms: number; fn: () => void }> = [];
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: (event) => void warnings.push(event) };
  const hooks = createWebhooks({
    url: "http://backend.test/hooks",
    secret: SECRET,
    routes: { lookup: async (users) => (users.some((u) => online.includes(u)) ? ["127.0.0.1_1"] : []) },
    log,
    retryBaseMs: 1000,
    ...opts,
    fetch: (async (_url: string, init: RequestInit) => {
      requests.push({ headers: new Headers(init.headers), body: String(init.body) });
      return new Response("", { status: statuses.shift() ?? 200 });
    }) as unknown as typeof fetch,
    now: () => Date.parse("2026-12-07T10:00:00Z"),
    schedule: (fn, ms) => void timers.push({ ms, fn }),
  });
  /** Lets every promise of the posts settle (no timer: the fetch and lookups here are immediate). */
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };
  const runTimers = async () => {
    for (const t of timers.splice(0)) t.fn();
    await settle();
  };
  return { hooks, requests, timers, warnings, settle, runTimers, events: () => requests.map((r) => JSON.parse(r.body) as WebhookEvent) };
}

test("a stored message is posted, signed over the timestamp and the body", async () => {
  const h = harness([], ["bob"]);
  h.hooks.stored(msg("1"), pair);
  await h.settle();
  expect(h.events().map((e) => e.event)).toEqual(["message.stored"]); // bob is online: no offline event
  const [{ headers, body }] = h.requests;
  expect(headers.get("x-im-event")).toBe("message.stored");
  expect(headers.get("x-im-signature")).toBe(webhookSignature(SECRET, headers.get("x-im-timestamp")!, body));
  expect(headers.get("x-im-signature")).not.toBe(webhookSignature("another-secret-16chars", headers.get("x-im-timestamp")!, body));
  expect(JSON.parse(body).data).toMatchObject({ msgId: "1", senderId: "alice", receiverId: "bob", msg: "hi" });
});

test("a receiver with no connection anywhere gets the offline event too (the push-notification hook)", async () => {
  const h = harness([], []);
  h.hooks.stored(msg("2"), pair);
  await h.settle();
  expect(h.events().map((e) => [e.event, e.data.offlineUserIds])).toEqual([["message.stored", undefined], ["message.offline", ["bob"]]]);
});

test("in a group, the offline event names the members without a connection, never the sender", async () => {
  const h = harness([], ["carol"]);
  h.hooks.stored({ ...msg("3", "group:7"), communicationType: 2 }, { kind: "members", userIds: ["alice", "bob", "carol", "dave"] });
  await h.settle();
  expect(h.events().find((e) => e.event === "message.offline")?.data.offlineUserIds).toEqual(["bob", "dave"]);
});

test("a recall, an edit and a delete-for-me are posted as events of their own, naming the message and the event", async () => {
  const h = harness([], ["bob"]);
  const target = msg("5");
  const event = (msgId: string, msgType: number, text?: string): StoredMsg => ({ ...msg(msgId), msgType, msg: text, refId: "5", isRead: true });
  h.hooks.changed!(event("6", 101, "hello"), target);
  h.hooks.changed!(event("7", 100), target);
  h.hooks.changed!({ ...event("8", 102), senderId: "bob", receiverId: "bob" }, target);
  h.hooks.changed!(event("9", 1), target); // not an event row: nothing
  await h.settle();
  expect(h.events().map((e) => [e.event, e.data])).toEqual([
    ["message.edited", { msgId: "5", eventId: "6", senderId: "alice", receiverId: "bob", chatTime: "2026-12-07 10:00:00", msg: "hello" }],
    ["message.recalled", { msgId: "5", eventId: "7", senderId: "alice", receiverId: "bob", chatTime: "2026-12-07 10:00:00" }],
    ["message.deleted", { msgId: "5", eventId: "8", senderId: "bob", receiverId: "bob", chatTime: "2026-12-07 10:00:00" }],
  ]);
  expect(h.requests.map((r) => r.headers.get("x-im-delivery")!.split("-").slice(0, 2).join("-"))).toEqual(["6-e", "7-r", "8-d"]);
  for (const { headers, body } of h.requests) expect(headers.get("x-im-signature")).toBe(webhookSignature(SECRET, headers.get("x-im-timestamp")!, body));
});

test("a backend that fails or is away is tried again with growing delays, under the same delivery id", async () => {
  const h = harness([503, 500, 429], ["bob"]);
  h.hooks.stored(msg("4"), pair);
  await h.settle();
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    delays.push(h.timers[0].ms);
    await h.runTimers();
  }
  expect(h.requests.length).toBe(4);
  expect(new Set(h.requests.map((r) => r.headers.get("x-im-delivery"))).size).toBe(1);
  expect(delays[0]).toBeGreaterThanOrEqual(750);
  expect(delays[1]).toBeGreaterThan(delays[0]);
  expect(delays[2]).toBeGreaterThan(delays[1]);
  expect(h.hooks.pending).toBe(0);
});

test("a 4xx other than 408 and 429 is final: the event is dropped and logged, not retried", async () => {
  const h = harness([400], ["bob"]);
  h.hooks.stored(msg("5"), pair);
  await h.settle();
  expect(h.timers).toEqual([]);
  expect(h.warnings).toContain("webhook.failed");
});

test("after its tries an event is dropped and logged", async () => {
  const h = harness([500, 500, 500], ["bob"], { attempts: 3 });
  h.hooks.stored(msg("6"), pair);
  await h.settle();
  await h.runTimers();
  await h.runTimers();
  expect(h.requests.length).toBe(3);
  expect(h.timers).toEqual([]);
  expect(h.warnings).toContain("webhook.failed");
});

test("past the queue's bound new events are dropped and logged; the ack path never waits", async () => {
  const h = harness(Array(10).fill(503), ["bob"], { queueMax: 2 });
  for (let i = 0; i < 5; i++) h.hooks.stored(msg(String(10 + i)), pair);
  await h.settle();
  expect(h.hooks.pending).toBe(2);
  expect(h.warnings).toContain("webhook.dropped");
});
