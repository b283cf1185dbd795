// Hostile values on every input, over WebSocket and every HTTP route, on SQLite, PostgreSQL and a
// PostgreSQL cluster: each is refused with its reason (never a 5xx, never an error-level log line),
// while a bystander conversation in the same ticks loses nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../../lib/transport/auth.ts";
import { spawnServer, startCluster, type Node } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { TestClient, type Frame } from "../support/ws-client.ts";
import { PG, REDIS_DB } from "../support/services.ts";

const SECRET = "hostile-secret-0123456789abcdef";
const MAX_MSG_CHARS = 1000;
const SECONDS = 3;
const run = Date.now().toString(36);

interface Deployment {
  nodes: Node[];
  stop(): Promise<void>;
}

/** One standalone instance as its own process; `databaseUrl` undefined: a SQLite file of its own. */
async function standalone(databaseUrl?: string): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), "im-hostile-"));
  const node = await spawnServer({
    PORT: "0", HOST_IP: "127.0.0.1", BIND_HOST: "127.0.0.1", LOG_LEVEL: "warn", AUTH_SECRET: SECRET,
    MAX_MSG_CHARS: String(MAX_MSG_CHARS), DATABASE_URL: databaseUrl ?? `sqlite://${dir}/chat.db`,
  });
  return {
    nodes: [node],
    async stop() {
      node.proc.kill("SIGTERM");
      await node.proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function cluster(): Promise<Deployment> {
  const c = await startCluster({ size: 2, redisDb: REDIS_DB.hostileValues, env: { DATABASE_URL: PG, AUTH_SECRET: SECRET, MAX_MSG_CHARS: String(MAX_MSG_CHARS) } });
  return { nodes: c.nodes, stop: () => c.stop() };
}

type Reply = "BAD_FRAME" | "FORBIDDEN" | "NOT_FOUND" | "ack";
const mallory = `mallory-${run}`;
const peer = `peer-${run}`;
const chat = (over: Record<string, unknown>) => (cid: string) => JSON.stringify({ chatMsg: { senderId: mallory, receiverId: peer, msg: "m", msgType: 1, ...over, clientMsgId: cid } });
const raw = (fields: string) => (cid: string) => `{"chatMsg":{"senderId":"${mallory}","receiverId":"${peer}","msgType":3,${fields},"clientMsgId":"${cid}"}}`;

/** Frames and the reply each must get (matched by clientMsgId). */
const WS_CORPUS: Array<[string, (cid: string) => string, Reply]> = [
  ["NUL in msg", chat({ msg: "poison\u0000N" }), "BAD_FRAME"],
  ["NUL in chatTime", chat({ chatTime: "2024-01-01\u0000" }), "BAD_FRAME"],
  ["NUL in videoPath", chat({ msgType: 4, videoPath: "/v\u0000.mp4" }), "BAD_FRAME"],
  ["NUL in voicePath", chat({ msgType: 3, voicePath: "\u0000" }), "BAD_FRAME"],
  ["NUL in msgId", chat({ msgId: "1\u0000" }), "BAD_FRAME"],
  ["videoWidth 2^31", chat({ msgType: 4, videoWidth: 2147483648 }), "BAD_FRAME"],
  ["videoHeight -2^31 - 1", chat({ msgType: 4, videoHeight: -2147483649 }), "BAD_FRAME"],
  ["videoTimes 1e308", chat({ msgType: 4, videoTimes: 1e308 }), "BAD_FRAME"],
  ["speakVoiceDuration 2^53 + 1", raw('"speakVoiceDuration":9007199254740993'), "BAD_FRAME"],
  ["msgType 2^31", chat({ msgType: 2147483648 }), "BAD_FRAME"],
  ["communicationType 1e10", chat({ communicationType: 1e10 }), "BAD_FRAME"],
  ["msg over MAX_MSG_CHARS", chat({ msg: "x".repeat(MAX_MSG_CHARS + 1) }), "BAD_FRAME"],
  ["videoPath over 2048 characters", chat({ msgType: 4, videoPath: "v".repeat(2049) }), "BAD_FRAME"],
  ["receiver system", chat({ receiverId: "system" }), "BAD_FRAME"],
  ["receiver *", chat({ receiverId: "*" }), "BAD_FRAME"],
  ["receiver group:abc", chat({ receiverId: "group:abc" }), "BAD_FRAME"],
  ["receiver group:<20 digits>", chat({ receiverId: "group:12345678901234567890", communicationType: 2 }), "BAD_FRAME"],
  ["receiver a group that does not exist", chat({ receiverId: "group:1", communicationType: 2 }), "NOT_FOUND"],
  ["receiver with NUL", chat({ receiverId: "bob\u0000" }), "BAD_FRAME"],
  ["receiver with a newline", chat({ receiverId: "bob\n" }), "BAD_FRAME"],
  ["receiver a path", chat({ receiverId: "../../etc/passwd" }), "BAD_FRAME"],
  ["receiver of 65 characters", chat({ receiverId: "r".repeat(65) }), "BAD_FRAME"],
  ["receiver SQL", chat({ receiverId: "' OR 1=1 --" }), "BAD_FRAME"],
  ["sender another user", chat({ senderId: "alice" }), "FORBIDDEN"],
  ["CONNECT_INIT as another user", (cid) => JSON.stringify({ chatMsg: { senderId: "alice", msgType: 0, clientMsgId: cid } }), "FORBIDDEN"],
  ["SIGNED a 20-digit msgId", (cid) => JSON.stringify({ chatMsg: { msgType: 8, msgId: "99999999999999999999", clientMsgId: cid } }), "BAD_FRAME"],
  ["SIGNED msgId abc", (cid) => JSON.stringify({ chatMsg: { msgType: 8, msgId: "abc", clientMsgId: cid } }), "BAD_FRAME"],
  ["SIGNED an unknown msgId", (cid) => JSON.stringify({ chatMsg: { msgType: 8, msgId: "1", clientMsgId: cid } }), "NOT_FOUND"],
  ["a lone surrogate (replaced, accepted)", chat({ msg: "cut \ud83d" }), "ack"],
  ["control characters in text (accepted)", chat({ msg: "bell \u0007 tab \t" }), "ack"],
  ["typing to a receiver with NUL", (cid) => JSON.stringify({ typing: { receiverId: "bob\u0000", clientMsgId: cid } }), "BAD_FRAME"],
  ["typing without the declared feature", (cid) => JSON.stringify({ typing: { receiverId: "bob", clientMsgId: cid } }), "BAD_FRAME"],
  ["presence of a SQL id", (cid) => JSON.stringify({ presence: { subscribe: ["' OR 1=1 --"], clientMsgId: cid } }), "BAD_FRAME"],
  ["recall a 20-digit msgId", (cid) => JSON.stringify({ recall: { msgId: "99999999999999999999", clientMsgId: cid } }), "BAD_FRAME"],
  ["recall a SQL msgId", (cid) => JSON.stringify({ recall: { msgId: "1 OR 1=1", clientMsgId: cid } }), "BAD_FRAME"],
  ["edit with an object as msg", (cid) => JSON.stringify({ edit: { msgId: "1", msg: { a: 1 }, clientMsgId: cid } }), "BAD_FRAME"],
  ["delete without the declared feature", (cid) => JSON.stringify({ delete: { msgId: "1", clientMsgId: cid } }), "BAD_FRAME"],
  ["features that are not strings", (cid) => JSON.stringify({ chatMsg: { msgType: 9, clientMsgId: cid }, features: [{}] }), "BAD_FRAME"],
];

type Call = [method: string, path: string, init: { type?: string; body?: string }, status: number];
const json = (body: unknown) => ({ type: "application/json", body: JSON.stringify(body) });
/** Requests and the status each must get; every one is well under 500. */
const HTTP_CORPUS: Call[] = [
  ["GET", "/client/index.html%00.js", {}, 400],
  ["GET", `/client/${"a".repeat(5000)}`, {}, 404],
  ["GET", "/client/..%2f..%2fpackage.json", {}, 404],
  ["GET", "/%00", {}, 400],
  ["GET", "/health/%00", {}, 400],
  ["POST", `/chat/list/${mallory}%00/bob`, {}, 400],
  ["POST", `/chat/list/${mallory}/group%3A%00`, {}, 400],
  ["POST", `/chat/list/${mallory}/group:abc`, {}, 400],
  ["POST", `/chat/list/${mallory}/group:1`, {}, 403],
  ["POST", `/chat/list/${mallory}/%E0%A4%A`, {}, 400],
  ["POST", `/chat/list/${"a".repeat(70)}/bob`, {}, 400],
  ["POST", `/chat/list/${mallory}/bob?page=%00`, {}, 400],
  ["POST", `/chat/list/${mallory}/bob?pageSize=-1`, {}, 400],
  ["POST", `/chat/list/${mallory}/bob?page=99999999999999999999`, {}, 400],
  ["POST", "/chat/getMyUnReadCounts?myId=%00", {}, 400],
  ["POST", `/chat/getMyUnReadCounts?myId=${"a".repeat(65)}`, {}, 400],
  ["POST", `/chat/clearMyUnReadCounts?myId=${mallory}&oppositeId=%00`, {}, 400],
  ["POST", "/chat/signRead/%00", {}, 400],
  ["POST", "/chat/signRead/99999999999999999999", {}, 400],
  ["POST", "/chat/signRead/abc", {}, 400],
  ["POST", "/chat/signRead/1", {}, 404],
  ["POST", "/chat/group/create", { type: "text/plain", body: JSON.stringify({ name: "x" }) }, 415],
  ["POST", "/chat/group/create", { body: JSON.stringify({ name: "x" }) }, 415],
  ["POST", "/chat/group/create", json({ name: "poison\u0000" }), 400],
  ["POST", "/chat/group/create", json({ name: "x", members: ["a\u0000"] }), 400],
  ["POST", "/chat/group/create", json({ name: "n".repeat(201) }), 400],
  ["POST", "/chat/group/create", { type: "application/json", body: "{not json" }, 400],
  ["GET", "/chat/group/group%3A%00/members", {}, 400],
  ["GET", "/chat/group/group:abc/members", {}, 400],
  ["GET", "/chat/group/group:1/members", {}, 404],
  ["POST", "/chat/group/group:1/members/add", json({ userIds: ["x"] }), 404],
  ["POST", "/chat/group/list?userId=%00", {}, 400],
  ["POST", "/chat/broadcast", json({ msg: "\u0000" }), 404],
  ["GET", "/chat/presence?userIds=%00", {}, 400],
  ["GET", `/chat/presence?userIds=${"a".repeat(65)}`, {}, 400],
  ["POST", "/chat/presence", json({ userIds: ["a\u0000"] }), 400],
  ["POST", "/chat/presence", { type: "text/plain", body: JSON.stringify({ userIds: ["a"] }) }, 415],
  ["GET", "/chat/conversations?userId=%00", {}, 400],
  ["GET", `/chat/conversations?userId=${mallory}&page=99999999999999999999`, {}, 400],
  ["GET", "/chat/conversations?userId=bob", {}, 403],
];

function describeHostile(name: string, deploy: () => Promise<Deployment>) {
  describe(name, () => {
    let d: Deployment;
    beforeAll(async () => {
      d = await deploy();
    }, 60_000);
    afterAll(() => d?.stop(), 30_000);

    test("hostile values get their refusal (no 5xx, no error log) while a bystander conversation loses nothing", async () => {
      const wsOf = async (i: number, user: string) => `ws://127.0.0.1:${d.nodes[i].port}/ws?token=${await mintToken(SECRET, user)}`;
      const base = `http://127.0.0.1:${d.nodes[0].port}`;
      const token = await mintToken(SECRET, mallory);
      const [alice, bob, attacker] = [`alice-${run}`, `bob-${run}`, mallory];
      const a = await TestClient.login(await wsOf(0, alice), alice);
      const b = await TestClient.login(await wsOf(d.nodes.length - 1, bob), bob);
      const m = await TestClient.login(await wsOf(0, attacker), attacker);

      // The bystander at 75 msg/s, the attacker at 50 frames/s and a stream of HTTP requests, same ticks.
      const deadline = Date.now() + SECONDS * 1000;
      const sentByAlice: string[] = [];
      const bystander = (async () => {
        for (let i = 0; Date.now() < deadline; i++) {
          const cid = `a${i}`;
          a.send({ chatMsg: { senderId: alice, receiverId: bob, msg: `hello ${i}`, msgType: 1, clientMsgId: cid } });
          sentByAlice.push(cid);
          await Bun.sleep(13);
        }
      })();
      const expected = new Map<string, [string, Reply]>();
      const hostileWs = (async () => {
        for (let i = 0; Date.now() < deadline; i++) {
          const [what, frame, reply] = WS_CORPUS[i % WS_CORPUS.length];
          const cid = `h${i}`;
          expected.set(cid, [what, reply]);
          m.send(frame(cid));
          await Bun.sleep(20);
        }
      })();
      const httpResults: Array<[string, number, number]> = [];
      const hostileHttp = (async () => {
        for (let i = 0; Date.now() < deadline; i++) {
          const [method, path, init, status] = HTTP_CORPUS[i % HTTP_CORPUS.length];
          const headers: Record<string, string> = { authorization: `Bearer ${token}` };
          if (init.type) headers["content-type"] = init.type;
          const res = await fetch(base + path, { method, headers, body: init.body });
          await res.arrayBuffer();
          httpResults.push([`${method} ${path.slice(0, 80)}`, res.status, status]);
          await Bun.sleep(2);
        }
      })();
      await Promise.all([bystander, hostileWs, hostileHttp]);

      await eventually(() => sentByAlice.every((cid) => a.frames.some((f) => f.ack?.clientMsgId === cid)), 10_000);
      const ackOf = new Map(a.frames.filter((f) => f.ack).map((f) => [f.ack.clientMsgId, f.ack.msgId]));
      expect(sentByAlice.filter((cid) => !ackOf.has(cid))).toEqual([]);
      expect(a.frames.filter((f) => f.error)).toEqual([]);
      const wanted = new Set(ackOf.values());
      await eventually(() => b.frames.filter((f) => f.chatMsg).length >= wanted.size, 5000);
      const got = new Set(b.frames.filter((f) => f.chatMsg?.senderId === alice).map((f) => f.chatMsg.msgId));
      expect([...wanted].filter((id) => !got.has(id))).toEqual([]);

      const answered = (cid: string) => m.frames.some((f: Frame) => f.ack?.clientMsgId === cid || f.error?.clientMsgId === cid);
      await eventually(() => [...expected.keys()].every(answered), 5000);
      const replyTo = (cid: string): Reply | string | undefined => {
        const f = m.frames.find((f: Frame) => f.ack?.clientMsgId === cid || f.error?.clientMsgId === cid);
        return f?.ack ? "ack" : f?.error?.code;
      };
      const wrong = [...expected].map(([cid, [what, reply]]) => [what, replyTo(cid), reply]).filter(([, got, want]) => got !== want);
      expect(wrong).toEqual([]);
      expect(httpResults.filter(([, got, want]) => got !== want)).toEqual([]);
      expect(httpResults.length).toBeGreaterThanOrEqual(HTTP_CORPUS.length);

      for (const node of d.nodes) {
        expect(node.proc.exitCode).toBeNull();
        expect(node.log.filter((l) => l.includes('"level":"error"'))).toEqual([]);
      }
      console.log(
        `${name}: bystander ${sentByAlice.length} sent, ${ackOf.size} acked, ${got.size} delivered; ` +
          `hostile ${expected.size} frames, ${httpResults.length} requests; warn lines ${d.nodes.map((n) => n.log.filter((l) => l.includes('"level":"warn"')).length).join("+")}`,
      );
      for (const c of [a, b, m]) c.close();
    }, 60_000);
  });
}

describeHostile("hostile values, standalone on SQLite", () => standalone());
describeHostile("hostile values, standalone on PostgreSQL", () => standalone(PG));
describeHostile("hostile values, a 2-instance cluster on PostgreSQL", cluster);
