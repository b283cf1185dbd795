// Authentication and authorization with AUTH_SECRET: nobody sends, reads or signs as another user.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign } from "hono/jwt";
import { mintToken } from "../../lib/transport/auth.ts";
import { standaloneTarget, type Target } from "../support/target.ts";
import { TestClient } from "../support/ws-client.ts";

const SECRET = "test-secret-0123456789abcdef";
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("with AUTH_SECRET set", () => {
  let t: Target;
  const ws = (token?: string) => `${t.wsUrl()}${token === undefined ? "" : `?token=${encodeURIComponent(token)}`}`;
  const upgradeStatus = async (token?: string) => {
    const res = await fetch(ws(token).replace("ws://", "http://"), {
      headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
    });
    return res.status;
  };
  const api = (path: string, token?: string) =>
    fetch(`${t.httpUrl()}${path}`, { method: "POST", headers: token ? { Authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    t = await standaloneTarget({ AUTH_SECRET: SECRET });
  });
  afterAll(() => t.stop());

  test("a valid token binds the connection to its sub, and CONNECT_INIT may omit senderId", async () => {
    const alice = await TestClient.open(ws(await mintToken(SECRET, "alice")));
    alice.send({ chatMsg: { msgType: 0, clientMsgId: "i" } });
    await alice.next((f) => f.ack?.clientMsgId === "i");
    const bob = await TestClient.login(ws(await mintToken(SECRET, "bob")), "bob");
    await alice.say("alice", "bob", "hi");
    expect((await bob.nextMessage()).chatMsg.senderId).toBe("alice");
    alice.close();
    bob.close();
  });

  test("upgrades without a token, or with an expired, wrongly signed, 'none' or RS256 token, or without sub, get 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = {
      missing: undefined,
      garbage: "not.a.token",
      expired: await sign({ sub: "alice", exp: now - 10 }, SECRET, "HS256"),
      wrongKey: await mintToken("another-secret-0123456789", "alice"),
      none: `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "alice", exp: now + 60 })}.`,
      rs256: `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ sub: "alice", exp: now + 60 })}.c2ln`,
      noSub: await sign({ exp: now + 60 }, SECRET, "HS256"),
      badSub: await sign({ sub: "a b<script>", exp: now + 60 }, SECRET, "HS256"),
    };
    for (const [name, token] of Object.entries(bad)) {
      expect([name, await upgradeStatus(token)]).toEqual([name, 401]);
    }
    expect(await upgradeStatus(await mintToken(SECRET, "alice"))).toBe(101);
  });

  test("CONNECT_INIT or a chat frame naming another user gets FORBIDDEN", async () => {
    const mallory = await TestClient.open(ws(await mintToken(SECRET, "mallory")));
    mallory.send({ chatMsg: { senderId: "alice", msgType: 0 } });
    expect((await mallory.next((f) => f.error)).error.code).toBe("FORBIDDEN");
    await mallory.init("mallory");
    mallory.send({ chatMsg: { senderId: "alice", receiverId: "bob", msg: "spoof", msgType: 1 } });
    expect((await mallory.next((f) => f.error)).error.code).toBe("FORBIDDEN");
    mallory.close();
  });

  test("only the receiver may sign a message, over WebSocket and over HTTP", async () => {
    const alice = await TestClient.login(ws(await mintToken(SECRET, "alice")), "alice");
    const { msgId } = await alice.say("alice", "bob", "sign me");
    const mallory = await TestClient.login(ws(await mintToken(SECRET, "mallory")), "mallory");
    mallory.send({ chatMsg: { msgType: 8, msgId } });
    expect((await mallory.next((f) => f.error)).error.code).toBe("FORBIDDEN");
    expect((await api(`/chat/signRead/${msgId}`, await mintToken(SECRET, "mallory"))).status).toBe(403);
    expect((await api(`/chat/signRead/${msgId}`, await mintToken(SECRET, "alice"))).status).toBe(403);
    expect((await api(`/chat/signRead/${msgId}`)).status).toBe(401);
    expect((await api(`/chat/signRead/${msgId}`, await mintToken(SECRET, "bob"))).status).toBe(200);
    alice.close();
    mallory.close();
  });

  test("/chat routes need a token and serve only the caller's own conversations and counters", async () => {
    const alice = await mintToken(SECRET, "alice");
    const mallory = await mintToken(SECRET, "mallory");
    expect((await api("/chat/list/alice/bob")).status).toBe(401);
    expect((await api("/chat/list/alice/bob", "garbage")).status).toBe(401);
    expect((await api("/chat/list/alice/bob", mallory)).status).toBe(403);
    expect((await api("/chat/list/alice/bob", alice)).status).toBe(200);
    expect((await api("/chat/list/bob/alice", alice)).status).toBe(200);
    expect((await api("/chat/getMyUnReadCounts?myId=bob", alice)).status).toBe(403);
    expect((await api("/chat/getMyUnReadCounts?myId=alice", alice)).status).toBe(200);
    expect((await api("/chat/clearMyUnReadCounts?myId=bob&oppositeId=alice", alice)).status).toBe(403);
    // The load-balancing route stays open: clients ask it before they connect.
    expect((await api("/chat/getNettyOnlineInfo")).status).toBe(200);
  });
});

describe("without AUTH_SECRET", () => {
  test("the server warns at start that it trusts client-declared ids", async () => {
    const p = Bun.spawn(["bun", "run", "server.ts"], {
      cwd: import.meta.dir + "/../..",
      env: { ...process.env, PORT: "0", HOST_IP: "127.0.0.1", DATABASE_URL: "sqlite::memory:", AUTH_SECRET: "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = p.stderr.getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes("auth.disabled") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    p.kill("SIGTERM");
    await p.exited;
    expect(text).toContain("trusts client-declared user ids");
  });
});
