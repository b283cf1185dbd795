// Fuzzing a running instance: 100,000 generated and mutated frames from hostile connections while
// two well-behaved users chat. The process must not exit, the users must lose nothing, memory stays bounded.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../../lib/transport/auth.ts";
import { freePort } from "../support/ports.ts";
import { TestClient } from "../support/ws-client.ts";

const SECRET = "fuzz-secret-0123456789abcdef";
const FRAMES = 100_000;
const FUZZERS = 4;

/** A small seeded PRNG (mulberry32) so a failing run can be replayed with its seed. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGE_STRINGS = ["", "\u0000", "\ud800", "\udfff", "\u202e", "\u200b", "😀".repeat(50), "a\nb", "<script>", "' OR 1=1 --", "${x}", "\\", "%00", "用户", "alice", "bob", "9".repeat(25)];
const FIELDS = ["senderId", "receiverId", "msg", "msgType", "msgId", "chatTime", "videoWidth", "isRead", "communicationType", "clientMsgId", "serverNode"];

function generator(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (n: number) => Math.floor(rand() * n);
  const anyValue = (): unknown =>
    pick([() => pick(EDGE_STRINGS), () => int(1e6) - 5e5, () => rand(), () => null, () => true, () => [], () => ({}), () => 2 ** 63, () => -0, () => "x".repeat(int(5000))])();
  const valid = () =>
    JSON.stringify({ chatMsg: { senderId: "fuzz", receiverId: pick(["alice", "bob", "fuzz", "nobody"]), msg: "m", msgType: pick([0, 1, 2, 3, 4, 8, 9]), msgId: String(int(1e15)), clientMsgId: String(int(1e9)) } });
  return (): string | Uint8Array => {
    switch (int(10)) {
      case 0: // random bytes as a binary frame
        return crypto.getRandomValues(new Uint8Array(1 + int(512)));
      case 1: // random text
        return Array.from({ length: 1 + int(200) }, () => String.fromCharCode(int(0x3000))).join("");
      case 2: { // truncated valid frame
        const v = valid();
        return v.slice(0, int(v.length));
      }
      case 3: { // mutated valid frame
        const v = valid().split("");
        for (let i = 0; i < 1 + int(5); i++) v[int(v.length)] = String.fromCharCode(int(128));
        return v.join("");
      }
      case 4: { // deep nesting, in and past the limit
        const d = 1 + int(5000);
        return `{"chatMsg":{"msg":${"[".repeat(d)}${"]".repeat(d)}}}`;
      }
      case 5: { // wrong types in every field
        const chatMsg: Record<string, unknown> = {};
        for (const f of FIELDS) if (rand() < 0.5) chatMsg[f] = anyValue();
        return JSON.stringify(rand() < 0.9 ? { chatMsg, extend: anyValue(), serverNode: anyValue() } : anyValue());
      }
      case 6: // huge strings, some over MAX_FRAME_BYTES (that connection is closed with 1009)
        return JSON.stringify({ chatMsg: { msgType: 1, receiverId: "bob", msg: "x".repeat(rand() < 0.02 ? 70_000 : int(20_000)) } });
      case 7: // spoofed ids: another user's frames and signatures
        return JSON.stringify({ chatMsg: { senderId: pick(["alice", "bob"]), receiverId: pick(["alice", "bob"]), msg: "spoof", msgType: pick([0, 1, 8]), msgId: String(int(1e18)) } });
      case 8: // unicode edge cases in ids and text
        return JSON.stringify({ chatMsg: { senderId: pick(EDGE_STRINGS), receiverId: pick(EDGE_STRINGS), msg: pick(EDGE_STRINGS), msgType: 1 } });
      default:
        return valid();
    }
  };
}

async function rssOf(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await Bun.file(`/proc/${pid}/status`).text())![1]) * 1024;
}

test("100,000 hostile frames never crash the instance, never cost the well-behaved users a message", async () => {
  const dir = mkdtempSync(join(tmpdir(), "im-fuzz-"));
  const port = await freePort();
  const server = Bun.spawn(["bun", "run", "server.ts"], {
    cwd: import.meta.dir + "/../..",
    env: { ...process.env, PORT: String(port), HOST_IP: "127.0.0.1", BIND_HOST: "127.0.0.1", DATABASE_URL: `sqlite://${dir}/chat.db`, AUTH_SECRET: SECRET, FRAME_RATE_PER_CONN: "0", LOG_LEVEL: "error" },
    stdout: "ignore",
    stderr: "pipe",
  });
  const seed = Number(Bun.env.FUZZ_SEED ?? Date.now() % 1e9);
  console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)`);
  const url = (user: string) => mintToken(SECRET, user).then((tk) => `ws://127.0.0.1:${port}/ws?token=${tk}`);
  try {
    let alice: TestClient | undefined;
    for (let i = 0; i < 100 && !alice; i++) alice = await TestClient.login(await url("alice"), "alice").catch(() => Bun.sleep(100).then(() => undefined));
    const bob = await TestClient.login(await url("bob"), "bob");
    const rssBefore = await rssOf(server.pid);

    let sent = 0;
    let reopened = 0;
    const fuzzer = async (i: number) => {
      const next = generator(prng(seed + i));
      const user = `fuzz${i}`;
      while (sent < FRAMES) {
        const c = await TestClient.open(await url(user));
        c.send({ chatMsg: { senderId: user, msgType: 0 } });
        while (sent < FRAMES && !c.closed) {
          c.ws.send(next());
          sent++;
          c.frames.length = 0; // replies are not checked here, only that the server survives
          if (sent % 200 === 0) await Bun.sleep(0);
          if (c.ws.bufferedAmount > 1 << 20) await Bun.sleep(5);
        }
        if (c.closed) reopened++;
        c.close();
      }
    };
    // The well-behaved users chat all the while.
    const chat = async () => {
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) {
        ids.push((await alice!.say("alice", "bob", `a${i}`)).msgId);
        ids.push((await bob.say("bob", "alice", `b${i}`)).msgId);
        await Bun.sleep(20);
      }
      return ids;
    };
    const [ids] = await Promise.all([chat(), ...Array.from({ length: FUZZERS }, (_, i) => fuzzer(i))]);
    console.log(`fuzz: ${sent} frames, ${reopened} fuzz connections closed by the server and reopened`);

    expect(server.exitCode).toBeNull();
    const gotByBob = new Set(bob.frames.filter((f) => f.chatMsg?.senderId === "alice").map((f) => f.chatMsg.msgId));
    const gotByAlice = new Set(alice!.frames.filter((f) => f.chatMsg?.senderId === "bob").map((f) => f.chatMsg.msgId));
    const fromAlice = ids.filter((_, i) => i % 2 === 0);
    const fromBob = ids.filter((_, i) => i % 2 === 1);
    await Bun.sleep(200);
    expect(fromAlice.filter((id) => !gotByBob.has(id))).toEqual([]);
    expect(fromBob.filter((id) => !gotByAlice.has(id))).toEqual([]);
    // Nothing the fuzzers sent as alice or bob got through as them.
    const spoofed = [...bob.frames, ...alice!.frames].filter((f) => f.chatMsg && f.chatMsg.msg === "spoof");
    expect(spoofed).toEqual([]);
    const grown = (await rssOf(server.pid)) - rssBefore;
    console.log(`fuzz: RSS grew ${(grown / 1048576).toFixed(1)} MB`);
    expect(grown).toBeLessThan(256 * 1024 * 1024);
    alice!.close();
    bob.close();
  } finally {
    server.kill("SIGTERM");
    await server.exited;
    const stderr = await new Response(server.stderr).text();
    if (stderr.includes('"level":"error"')) console.log(stderr.slice(0, 2000));
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
