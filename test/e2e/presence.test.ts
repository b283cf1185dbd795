// End-to-end: presence and typing in the browser client (client/live-status.js) in real headless
// Chromium on a 2-instance cluster: the peer shown online, "typing…" while the other page types,
// gone with the message, and "last seen" once the other page is closed and the grace has passed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import type { Cluster } from "../support/cluster.ts";
import { REDIS_DB } from "../support/services.ts";
import { openChat, say, screenshot, sees, startClusterAndBrowser, tearDown, type ChatPage } from "./support.ts";

describe("presence and typing in the browser client", () => {
  let c: Cluster;
  let browser: Browser | undefined;
  let alice: ChatPage;
  let bob: ChatPage;

  beforeAll(async () => {
    [c, browser] = await startClusterAndBrowser({ size: 2, redisDb: REDIS_DB.browserPresence, env: { PRESENCE_GRACE_MS: "800" } });
  }, 40_000);
  afterAll(() => tearDown([], browser, c), 30_000);

  const open = (origin: number, user: string, peer: string) => openChat(browser!, c, origin, user, peer);
  const status = (p: ChatPage) => p.page.locator("#peer-sub");

  test("the header says the peer is online, and offline before it signs in", async () => {
    bob = await open(1, "bob", "alice");
    await status(bob).getByText("offline").waitFor({ timeout: 5000 });
    alice = await open(0, "alice", "bob");
    await status(bob).getByText("online", { exact: true }).waitFor({ timeout: 5000 });
    await status(alice).getByText("online", { exact: true }).waitFor({ timeout: 5000 });
    await screenshot(bob, "presence-01-online");
  }, 30_000);

  test("while one page types, the other shows 'typing…'; the message ends it", async () => {
    await alice.page.type("#text", "hello th", { delay: 20 });
    await status(bob).getByText("typing…").waitFor({ timeout: 5000 });
    await screenshot(bob, "presence-02-typing");
    await alice.page.fill("#text", "");
    await say(alice, "hello there");
    await sees(bob, "peer", "hello there");
    // At once, not when the note would expire by itself (5 s).
    await status(bob).getByText("online", { exact: true }).waitFor({ timeout: 1500 });
  }, 30_000);

  test("once the other page is gone and the grace has passed, the header says when it was last seen", async () => {
    await alice.page.context().close();
    await status(bob).getByText(/^last seen /).waitFor({ timeout: 8000 });
    await screenshot(bob, "presence-03-last-seen");
    expect(bob.errors).toEqual([]);
  }, 30_000);
});
