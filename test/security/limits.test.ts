// Limits on hostile input: origins, frame and connect rates, connections per user, field sizes, depth.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { http, standaloneTarget, type Target } from "../support/target.ts";
import { TestClient } from "../support/ws-client.ts";

const upgrade = (url: string, headers: Record<string, string> = {}) =>
  fetch(url.replace("ws://", "http://"), {
    headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13", ...headers },
  }).then((r) => r.status);

describe("limits", () => {
  let t: Target;
  beforeAll(async () => {
    t = await standaloneTarget({
      ALLOWED_ORIGINS: "https://chat.example.com, http://localhost:8875",
      FRAME_RATE_PER_CONN: "10",
      CONNECT_RATE_PER_IP: "50",
      MAX_CONNS_PER_USER: "2",
      MAX_MSG_CHARS: "100",
    });
  });
  afterAll(() => t.stop());

  test("a WebSocket from an origin outside ALLOWED_ORIGINS is refused with 403; listed origins and non-browsers pass", async () => {
    expect(await upgrade(t.wsUrl(), { Origin: "https://evil.example.net" })).toBe(403);
    expect(await upgrade(t.wsUrl(), { Origin: "https://chat.example.com" })).toBe(101);
    expect(await upgrade(t.wsUrl())).toBe(101);
  });

  test("CORS allows only the listed origins", async () => {
    const good = await fetch(`${t.httpUrl()}/chat/getNettyOnlineInfo`, { method: "POST", headers: { Origin: "https://chat.example.com" } });
    expect(good.headers.get("access-control-allow-origin")).toBe("https://chat.example.com");
    const bad = await fetch(`${t.httpUrl()}/chat/getNettyOnlineInfo`, { method: "POST", headers: { Origin: "https://evil.example.net" } });
    expect(bad.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("frames beyond the per-connection rate get RATE_LIMITED and are dropped; the connection stays open", async () => {
    const a = await TestClient.login(t.wsUrl(), "rl-a");
    await Bun.sleep(2100); // a full bucket
    for (let i = 0; i < 40; i++) a.send({ chatMsg: { msgType: 9 } });
    a.send({ chatMsg: { msgType: 1, receiverId: "rl-b", msg: "dropped?", clientMsgId: "late" } });
    const err = await a.next((f) => f.error);
    expect(err.error.code).toBe("RATE_LIMITED");
    expect(a.closed).toBeUndefined();
    await Bun.sleep(1500);
    await a.say("rl-a", "rl-b", "after a pause");
    a.close();
  });

  test("sustained flooding past the rate for five seconds closes the connection with 1008", async () => {
    const a = await TestClient.login(t.wsUrl(), "flood");
    const timer = setInterval(() => {
      if (!a.closed) for (let i = 0; i < 20; i++) a.send({ chatMsg: { msgType: 9 } });
    }, 50);
    try {
      expect((await a.waitClosed(9000)).code).toBe(1008);
    } finally {
      clearInterval(timer);
    }
  }, 12_000);

  test("more connections than MAX_CONNS_PER_USER for one user get LIMIT_EXCEEDED and are closed", async () => {
    const c1 = await TestClient.login(t.wsUrl(), "many");
    const c2 = await TestClient.login(t.wsUrl(), "many");
    const c3 = await TestClient.open(t.wsUrl());
    c3.send({ chatMsg: { senderId: "many", msgType: 0 } });
    expect((await c3.next((f) => f.error)).error.code).toBe("LIMIT_EXCEEDED");
    expect((await c3.waitClosed()).code).toBe(1008);
    expect(c1.closed ?? c2.closed).toBeUndefined();
    c1.close();
    c2.close();
  });

  test("ids outside the charset or over 64 characters, long msg and long clientMsgId get BAD_FRAME", async () => {
    const a = await TestClient.login(t.wsUrl(), "len-a");
    const bad = [
      { msgType: 1, receiverId: "x".repeat(65), msg: "m" },
      { msgType: 1, receiverId: "a b", msg: "m" },
      { msgType: 1, receiverId: "a<script>", msg: "m" },
      { msgType: 1, receiverId: "a\nb", msg: "m" },
      { msgType: 1, receiverId: "a\u0000", msg: "m" },
      { msgType: 1, receiverId: "ok", msg: "m".repeat(101) },
      { msgType: 1, receiverId: "ok", msg: "m", clientMsgId: "c".repeat(65) },
    ];
    for (const chatMsg of bad) {
      a.send({ chatMsg });
      expect((await a.next((f) => f.error)).error.code).toBe("BAD_FRAME");
    }
    a.send(`{"chatMsg":{"msgType":1,"x":${"[".repeat(33)}${"]".repeat(33)}}}`);
    expect((await a.next((f) => f.error)).error.message).toContain("deeper than");
    await a.say("len-a", "用户-1", "unicode ids are fine"); // letters of any script
    a.close();
  });

  test("HTTP routes refuse ids outside the charset with 400", async () => {
    const r = await http(`${t.httpUrl()}/chat/list/a%20b/c`);
    expect(r.status).toBe(400);
    expect(r.body.msg).toContain("senderId");
  });
});

describe("connection rate per address", () => {
  test("new connections beyond CONNECT_RATE_PER_IP in one second get 429", async () => {
    const t = await standaloneTarget({ CONNECT_RATE_PER_IP: "3" });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await upgrade(t.wsUrl()));
      expect(statuses).toEqual([101, 101, 101, 429, 429]);
      await Bun.sleep(1100);
      expect(await upgrade(t.wsUrl())).toBe(101);
    } finally {
      await t.stop();
    }
  });
});
