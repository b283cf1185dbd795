// Shared by the end-to-end browser tests in test/e2e/: Chromium launch, screenshots, signed-in pages and the page and cluster helpers.
import { expect } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { startCluster, type Cluster, type ClusterOptions } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { http } from "../support/target.ts";
import { TestClient } from "../support/ws-client.ts";

/** The system Chromium that playwright-core drives (`apt-get install -y chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** Chromium flags: headless, no sandbox, and no background traffic of its own. */
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
  "--no-first-run", "--disable-component-update", "--disable-sync",
];

/** Where screenshots go: test-artifacts/ at the repository root. */
export const ARTIFACTS = join(import.meta.dir, "../../test-artifacts");

/** A browser tab with the chat client, signed in as `user`. */
export interface ChatPage {
  page: Page;
  user: string;
  /** Uncaught exceptions in the page: a client bug. */
  errors: string[];
}

/** Which kind of message bubble: the user's own, the other side's, or a system notice. */
export type BubbleKind = "own" | "peer" | "notice";

/**
 * Starts a cluster with `opts` and Chromium side by side, after making sure Chromium is installed
 * (nothing starts if it is missing) and that ARTIFACTS exists.
 */
export async function startClusterAndBrowser(opts: ClusterOptions): Promise<[Cluster, Browser]> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (the browser test needs it)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return Promise.all([
    startCluster(opts),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 }),
  ]);
}

/** Closes the raw sockets, then the browser and the cluster (either may be missing if startup failed). */
export async function tearDown(sockets: TestClient[], browser: Browser | undefined, c: Cluster | undefined): Promise<void> {
  for (const s of sockets) s.close();
  await browser?.close().catch(() => {});
  await c?.stop();
}

/** Saves a screenshot of the page as ARTIFACTS/`file`.png. */
export function screenshot(p: ChatPage, file: string): Promise<Buffer> {
  return p.page.screenshot({ path: join(ARTIFACTS, `${file}.png`) });
}

/** Signs `user` in over a raw WebSocket on instance `i` of `c`, adding it to `sockets` (closed by tearDown). */
export async function socketUser(c: Cluster, sockets: TestClient[], i: number, user: string): Promise<TestClient> {
  const s = await TestClient.login(c.wsUrl(i), user);
  sockets.push(s);
  return s;
}

/** Waits until getNettyOnlineInfo asked on instance `origin` of `c` answers `port` several times in a row. */
export async function routesTo(c: Cluster, origin: number, port: number): Promise<void> {
  const ok = await eventually(async () => {
    for (let n = 0; n < 8; n++) if ((await http(`${c.httpUrl(origin)}/chat/getNettyOnlineInfo`)).body?.data?.port !== port) return false;
    return true;
  }, 8000, 100);
  if (!ok) throw new Error(`getNettyOnlineInfo on instance ${origin} does not settle on port ${port}`);
}

/** Waits until the page's connection indicator shows it online. */
export async function waitOnline(page: Page, timeoutMs = 10_000): Promise<void> {
  await page.waitForSelector('#conn[data-state="online"]', { timeout: timeoutMs });
}

/** The port the page's connection indicator shows once it is online. */
export async function onlinePort(p: ChatPage, timeoutMs = 10_000): Promise<number> {
  await waitOnline(p.page, timeoutMs);
  return Number((await p.page.getAttribute("#conn", "data-node"))?.split(":").pop());
}

/** Opens the client in a new context of `browser` from instance `origin`'s own origin and signs in as `user`. */
export async function signIn(browser: Browser, c: Cluster, origin: number, user: string): Promise<ChatPage> {
  const context = await browser.newContext({ viewport: { width: 960, height: 600 } });
  const page = await context.newPage();
  const p: ChatPage = { page, user, errors: [] };
  page.on("pageerror", (err) => p.errors.push(err.message));
  await page.goto(`${c.httpUrl(origin)}/`, { timeout: 10_000 });
  await page.fill("#login-id", user);
  await page.click('#login-form button[type="submit"]');
  await waitOnline(page);
  return p;
}

/** Opens the client from instance `origin`'s own origin, signs in as `user` and opens the chat with `peer`. */
export async function openChat(browser: Browser, c: Cluster, origin: number, user: string, peer: string): Promise<ChatPage> {
  const p = await signIn(browser, c, origin, user);
  await p.page.fill("#peer-input", peer);
  await p.page.press("#peer-input", "Enter");
  await p.page.waitForSelector("#conv-header:not([hidden])", { timeout: 5000 });
  return p;
}

/** Types `text` into the open conversation's composer and sends it with Enter. */
export async function say(p: ChatPage, text: string): Promise<void> {
  await p.page.fill("#text", text);
  await p.page.press("#text", "Enter");
}

/** The bubbles of kind `who` containing `text` in the open conversation (only with delivery `status`, if given). */
export function bubble(p: ChatPage, who: BubbleKind, text: string, status?: string): Locator {
  // Matched in the text only: the whole bubble also holds its time ("#2" + "08:15" reads "#208:15").
  return p.page.locator(`#message-list li.msg.${who}${status ? `[data-status="${status}"]` : ""}`, { has: p.page.locator(".text", { hasText: text }) });
}

/** Waits until the open conversation shows a bubble of kind `who` containing `text` (with `status`, if given). */
export async function sees(p: ChatPage, who: BubbleKind, text: string, status?: string, timeoutMs = 5000): Promise<void> {
  await bubble(p, who, text, status).first().waitFor({ timeout: timeoutMs });
}

/** Expects the open conversation's "load older" button visible and clicks it; returns it (to check later that it hid). */
export async function loadOlder(p: ChatPage): Promise<Locator> {
  const older = p.page.locator("#load-older");
  expect(await older.isVisible()).toBe(true);
  await older.click();
  return older;
}
