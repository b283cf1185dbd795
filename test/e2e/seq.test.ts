// End-to-end: the browser client's positions (feature "seq", client/positions.js) in real headless
// Chromium on a 2-instance cluster. The page's WebSocket goes through a Playwright route that can
// drop a frame from the server, as a frame routed nowhere would be lost: the page sees a gap in its
// timeline, waits for it to close (3 s), reconnects and replays after the positions it holds, and
// so shows the dropped message. CONNECT_INIT declares "seq" and gives the positions it holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import type { Cluster } from "../support/cluster.ts";
import { REDIS_DB } from "../support/services.ts";
import type { TestClient } from "../support/ws-client.ts";
import { sees, socketUser, startClusterAndBrowser, tearDown, waitOnline, type ChatPage } from "./support.ts";

describe("positions in the browser client", () => {
  let c: Cluster;
  let browser: Browser | undefined;
  const sockets: TestClient[] = [];

  beforeAll(async () => {
    [c, browser] = await startClusterAndBrowser({ size: 2, redisDb: REDIS_DB.browserSeq });
  }, 40_000);
  afterAll(() => tearDown(sockets, browser, c), 30_000);

  test("a frame lost on the way leaves a gap: the page replays after its positions and shows the message", async () => {
    const context = await browser!.newContext({ viewport: { width: 960, height: 600 } });
    const inits: any[] = [];
    let dropNext: ((text: string) => boolean) | undefined;
    const dropped: string[] = [];
    await context.routeWebSocket(/\/ws/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        const f = JSON.parse(String(m));
        if (f.chatMsg?.msgType === 0) inits.push(f);
        server.send(m);
      });
      server.onMessage((m) => {
        const text = String(m);
        if (dropNext?.(text)) {
          dropNext = undefined;
          dropped.push(text);
          return;
        }
        ws.send(m);
      });
    });
    const page = await context.newPage();
    const sid: ChatPage = { page, user: "sid", errors: [] };
    page.on("pageerror", (err) => sid.errors.push(err.message));
    await page.goto(`${c.httpUrl(0)}/`, { timeout: 10_000 });
    await page.fill("#login-id", "sid");
    await page.click('#login-form button[type="submit"]');
    await waitOnline(page);
    await page.fill("#peer-input", "pia");
    await page.press("#peer-input", "Enter");

    expect(inits[0].features).toContain("seq");
    const pia = await socketUser(c, sockets, 1, "pia");
    await pia.say("pia", "sid", "one");
    await sees(sid, "peer", "one");
    dropNext = (text) => text.includes('"two"');
    await pia.say("pia", "sid", "two");
    await pia.say("pia", "sid", "three");
    await sees(sid, "peer", "three");
    expect(dropped).toHaveLength(1);
    expect(JSON.parse(dropped[0]).seq).toMatchObject({ sid: 2 });
    expect(await page.locator("#message-list li.msg.peer .text", { hasText: "two" }).count()).toBe(0);

    // The gap (sid 2) stays open: after 3 s the page reconnects and its replay brings the message.
    await sees(sid, "peer", "two", undefined, 10_000);
    const again = inits.at(-1);
    expect(inits.length).toBeGreaterThanOrEqual(2);
    expect(again.features).toContain("seq");
    expect(again.seqs.sid).toBe(1);
    expect(sid.errors).toEqual([]);
    await context.close();
  }, 40_000);
});
