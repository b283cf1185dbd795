// The single executable (`bun run build`: bun build --compile, the browser client and the WAL
// checkpointer embedded), copied alone to an empty folder: it serves the page, chats standalone
// with SQLite in a data folder beside it, and two of them form a cluster that delivers across
// instances, with the page used in headless Chromium.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { startCluster, spawnServer, type Cluster } from "../support/cluster.ts";
import { CHROMIUM, CHROMIUM_ARGS, sees, say, signIn } from "../e2e/support.ts";
import { REDIS_DB } from "../support/services.ts";
import { eventually } from "../support/wait.ts";
import { TestClient } from "../support/ws-client.ts";

const ROOT = join(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "im-binary-"));
const built = join(dir, "build", "im-server");
const alone = join(dir, "alone");
let binary = "";

beforeAll(async () => {
  const build = Bun.spawn(["bun", "build", "--compile", "--minify", "server.ts", "lib/adapters/sql/checkpoint-worker.ts", "lib/adapters/sql/writer-worker.ts", "--outfile", built], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if ((await build.exited) !== 0) throw new Error(`bun build --compile failed:\n${await new Response(build.stderr).text()}`);
  Bun.spawnSync(["mkdir", "-p", alone]);
  binary = join(alone, "im-server");
  copyFileSync(built, binary);
  Bun.spawnSync(["chmod", "+x", binary]);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the executable alone in an empty folder (standalone)", () => {
  test("serves the page, chats, keeps history in ./data beside it, checkpoints and exposes metrics", async () => {
    const started = performance.now();
    const node = await spawnServer({ PORT: "0", LOG_LEVEL: "info", DATABASE_URL: "" }, [binary], alone);
    const startMs = performance.now() - started;
    const url = `http://127.0.0.1:${node.port}`;
    try {
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<!doctype html>");
      expect((await fetch(`${url}/client/app.js`)).headers.get("content-type")).toContain("javascript");
      const a = await TestClient.login(`ws://127.0.0.1:${node.port}/ws`, "bin-a");
      const b = await TestClient.login(`ws://127.0.0.1:${node.port}/ws`, "bin-b");
      for (let i = 0; i < 50; i++) await a.say("bin-a", "bin-b", `m${i}`);
      expect((await b.nextMessage((f) => f.chatMsg.msg === "m49")).chatMsg.senderId).toBe("bin-a");
      const history = (await (await fetch(`${url}/chat/list/bin-a/bin-b?pageSize=100`, { method: "POST" })).json()) as any;
      expect(history.data.records).toBe(50);
      expect(await (await fetch(`${url}/metrics`)).text()).toContain("im_frames_in_total");
      // The Dockerfile's HEALTHCHECK: the executable asks its own instance (PORT) and exits 0 or 1.
      const probe = (port: number) => Bun.spawn([binary, "--health"], { cwd: alone, env: { ...process.env, PORT: String(port), LOG_LEVEL: "silent" } }).exited;
      expect(await probe(node.port)).toBe(0);
      expect(await probe(1)).toBe(1);
      // The embedded checkpointer thread copies the rows into the database file itself.
      const file = join(alone, "data", "chat.db");
      expect(existsSync(file)).toBe(true);
      const inMainFile = () => {
        const copy = join(dir, `copy-${Date.now()}.db`);
        copyFileSync(file, copy);
        const db = new Database(copy, { readonly: true });
        try {
          return (db.query("SELECT COUNT(*) AS n FROM chat_message").get() as { n: number }).n;
        } catch {
          return 0;
        } finally {
          db.close();
        }
      };
      expect(await eventually(() => inMainFile() === 50, 5000, 100)).toBe(true);
      expect(node.log.join("\n")).not.toContain("checkpointer_stopped");
      expect(node.log.join("\n")).not.toContain("writer_thread_stopped");
      a.close();
      b.close();
      console.log(`executable: ${(statSync(binary).size / 1e6).toFixed(0)} MB, listening ${startMs.toFixed(0)} ms after start`);
    } finally {
      node.proc.kill();
      await node.proc.exited;
    }
  }, 60_000);
});

describe("two executables as a cluster", () => {
  let c: Cluster;
  let browser: Browser;
  beforeAll(async () => {
    [c, browser] = await Promise.all([
      startCluster({ size: 2, redisDb: REDIS_DB.binary, command: [binary], cwd: alone }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await c?.stop();
  }, 60_000);

  test("the page from each instance signs in and two users chat across the instances", async () => {
    const alice = await signIn(browser, c, 0, "bin-alice");
    const bob = await signIn(browser, c, 1, "bin-bob");
    for (const [p, peer] of [[alice, "bin-bob"], [bob, "bin-alice"]] as const) {
      await p.page.fill("#peer-input", peer);
      await p.page.press("#peer-input", "Enter");
      await p.page.waitForSelector("#conv-header:not([hidden])", { timeout: 5000 });
    }
    await say(alice, "hello from the binary");
    await sees(bob, "peer", "hello from the binary");
    await say(bob, "and back");
    await sees(alice, "peer", "and back");
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  }, 60_000);
});
