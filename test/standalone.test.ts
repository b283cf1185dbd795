// Standalone-only behaviour: counts, frame limits, idle timeout, replay bound, graceful stop.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./support/ports.ts";
import { http, standaloneTarget, type Target } from "./support/target.ts";
import { eventually } from "./support/wait.ts";
import { TestClient } from "./support/ws-client.ts";

/** A WebSocket peer that completes the handshake and then never sends a byte (not even a pong). */
async function silentPeer(port: number): Promise<{ closed: Promise<number> }> {
  let done!: (ms: number) => void;
  const closed = new Promise<number>((r) => (done = r));
  const started = Date.now();
  await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.write(
          "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
      },
      data() {},
      close() {
        done(Date.now() - started);
      },
    },
  });
  return { closed };
}

describe("a standalone instance", () => {
  let t: Target & { instance: any };
  beforeAll(async () => {
    t = await standaloneTarget({ IDLE_TIMEOUT_S: "2", MAX_FRAME_BYTES: "4096", REPLAY_MAX: "3" });
  });
  afterAll(() => t.stop());
  const onlineCounts = async () => (await http(`${t.httpUrl()}/getNettyOnlineInfo`)).body.data.onlineCounts;

  test("onlineCounts counts CONNECT_INIT'd connections once each and drops them on close or abrupt loss", async () => {
    const base = await onlineCounts();
    const a = await TestClient.login(t.wsUrl(), "cnt-a");
    const b = await TestClient.login(t.wsUrl(), "cnt-a"); // second device of the same user
    const c = await TestClient.open(t.wsUrl()); // never initialised
    expect(await onlineCounts()).toBe(base + 2);
    await a.init("cnt-a"); // duplicate CONNECT_INIT
    a.send("{oops"); // an error frame does not count either
    await a.next((f) => f.error);
    expect(await onlineCounts()).toBe(base + 2);
    a.close();
    await a.waitClosed();
    c.close();
    expect(await eventually(async () => (await onlineCounts()) === base + 1, 2000, 10)).toBe(true);
    b.close();
    await b.waitClosed();
    expect(await eventually(async () => (await onlineCounts()) === base, 2000, 10)).toBe(true);
    // An abrupt loss: a client process killed with SIGKILL, no close frame.
    const script = `const ws = new WebSocket(${JSON.stringify(t.wsUrl())}); ws.onopen = () => ws.send(JSON.stringify({chatMsg:{senderId:"cnt-k",msgType:0,clientMsgId:"k"}})); ws.onmessage = () => console.log("bound");`;
    const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe" });
    const reader = child.stdout.getReader();
    await reader.read(); // "bound"
    expect(await onlineCounts()).toBe(base + 1);
    child.kill("SIGKILL");
    await child.exited;
    expect(await eventually(async () => (await onlineCounts()) === base, 5000, 100)).toBe(true);
  });

  test("a frame over MAX_FRAME_BYTES closes only that connection, with 1009", async () => {
    const a = await TestClient.login(t.wsUrl(), "big-a");
    const b = await TestClient.login(t.wsUrl(), "big-b");
    a.send(JSON.stringify({ chatMsg: { msgType: 1, receiverId: "big-b", msg: "x".repeat(5000) } }));
    expect((await a.waitClosed()).code).toBe(1009);
    const c = await TestClient.login(t.wsUrl(), "big-c");
    await c.say("big-c", "big-b", "x".repeat(3000));
    expect((await b.nextMessage()).chatMsg.msg).toHaveLength(3000);
  });

  test("a connection that sends nothing, not even a pong, is closed after IDLE_TIMEOUT_S", async () => {
    const peer = await silentPeer(t.instance.port);
    const alive = await TestClient.login(t.wsUrl(), "idle-alive"); // answers pings automatically
    const ms = await Promise.race([peer.closed, Bun.sleep(15_000).then(() => -1)]);
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(3500);
    await Bun.sleep(2500); // past the timeout for `alive` too: its pongs keep it open
    expect(alive.closed).toBeUndefined();
    alive.close();
  }, 20_000);

  test("replay sends at most REPLAY_MAX messages, the oldest after the given id", async () => {
    const a = await TestClient.login(t.wsUrl(), "rp-a");
    const first = await a.say("rp-a", "rp-b", "0");
    const ids = [];
    for (let i = 1; i <= 5; i++) ids.push((await a.say("rp-a", "rp-b", String(i))).msgId);
    const b = await TestClient.open(t.wsUrl());
    b.send({ chatMsg: { senderId: "rp-b", msgType: 0, msgId: first.msgId, clientMsgId: "go" } });
    // Cut at REPLAY_MAX: the ack says the replay does not hold everything missed.
    expect((await b.next((f) => f.ack?.clientMsgId === "go")).ack).toEqual({ clientMsgId: "go", replayed: 3, recovered: false });
    expect(b.frames.filter((f) => f.chatMsg).map((f) => f.chatMsg.msgId)).toEqual(ids.slice(0, 3));
    const c = await TestClient.open(t.wsUrl());
    c.send({ chatMsg: { senderId: "rp-b", msgType: 0, msgId: ids[2], clientMsgId: "rest" } });
    expect((await c.next((f) => f.ack?.clientMsgId === "rest")).ack).toEqual({ clientMsgId: "rest", replayed: 2, recovered: true });
    c.close();
    b.send({ chatMsg: { senderId: "rp-c", msgType: 0, msgId: "not-a-number" } });
  });

  test("a replay from a malformed msgId is refused with BAD_FRAME and the connection stays bound", async () => {
    const b = await TestClient.open(t.wsUrl());
    b.send({ chatMsg: { senderId: "rp-x", msgType: 0, msgId: "12ab" } });
    expect((await b.next((f) => f.error)).error.code).toBe("BAD_FRAME");
    await b.say("rp-x", "rp-y", "bound anyway");
  });
});

describe("graceful stop", () => {
  test("SIGTERM closes clients with 1001, keeps every acked message, and exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "im-stop-"));
    const port = await freePort();
    const env = { ...process.env, PORT: String(port), HOST_IP: "127.0.0.1", BIND_HOST: "127.0.0.1", DATABASE_URL: `sqlite://${dir}/chat.db`, LOG_LEVEL: "warn" };
    const start = () => Bun.spawn(["bun", "run", "server.ts"], { cwd: import.meta.dir + "/..", env, stdout: "pipe", stderr: "pipe" });
    let proc = start();
    const url = `ws://127.0.0.1:${port}/ws`;
    let a: TestClient | undefined;
    for (let i = 0; i < 200 && !a && proc.exitCode === null; i++) a = await TestClient.login(url, "gs-a").catch(() => Bun.sleep(100).then(() => undefined));
    if (!a) throw new Error(proc.exitCode === null ? "the instance did not serve within 20 s" : `the instance exited (${proc.exitCode}): ${await new Response(proc.stderr).text()}`);
    const b = await TestClient.login(url, "gs-b");
    // Many messages in flight when the signal arrives: every acked one must be stored.
    const acks: string[] = [];
    for (let i = 0; i < 200; i++) a!.send({ chatMsg: { senderId: "gs-a", receiverId: "gs-b", msg: `m${i}`, msgType: 1, clientMsgId: `k${i}` } });
    acks.push((await a!.next((f) => f.ack)).ack.msgId);
    proc.kill("SIGTERM");
    const [ca, cb] = await Promise.all([a!.waitClosed(), b.waitClosed()]);
    expect(ca.code).toBe(1001);
    expect(cb.code).toBe(1001);
    expect(await proc.exited).toBe(0);
    for (const f of [...a!.frames]) if (f.ack) acks.push(f.ack.msgId);
    proc = start();
    let history: any;
    for (let i = 0; i < 50 && !history; i++) {
      history = await fetch(`http://127.0.0.1:${port}/chat/list/gs-a/gs-b?pageSize=200`, { method: "POST" })
        .then((r) => r.json())
        .catch(() => Bun.sleep(100).then(() => undefined));
    }
    const stored = new Set(history.data.rows.map((r: any) => r.msgId));
    for (const id of acks) expect(stored.has(id)).toBe(true);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }, 30_000);
});

describe("health while stopping", () => {
  test("a draining instance is alive but not ready, and getNettyOnlineInfo stops returning it at once", async () => {
    const t = await standaloneTarget();
    const a = await TestClient.login(t.wsUrl(), "dr-a");
    expect((await http(`${t.httpUrl()}/health/ready`, "GET")).status).toBe(200);
    const stopping = t.instance.stop();
    const [live, ready, route] = await Promise.all(
      ["/health/live", "/health/ready", "/getNettyOnlineInfo"].map((p) => http(`${t.httpUrl()}${p}`, "GET")),
    );
    expect([live.status, live.body.status]).toEqual([200, "draining"]);
    expect([ready.status, ready.body.status]).toEqual([503, "draining"]);
    expect(route.status).toBe(503);
    expect((await a.waitClosed()).code).toBe(1001);
    await stopping;
  });
});
