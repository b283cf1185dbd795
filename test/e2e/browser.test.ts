// End-to-end: the browser chat client (client/) in real headless Chromium against a real 2-instance
// cluster: instance choice, both directions, unread badges, history after a reload, read receipts,
// and recovery after the instance of one page is SIGKILLed. Screenshots go to test-artifacts/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import type { Cluster } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { http } from "../support/target.ts";
import type { TestClient } from "../support/ws-client.ts";
import { REDIS_DB } from "../support/services.ts";
import {
  bubble, loadOlder, onlinePort, openChat as openChatFrom, routesTo, say, screenshot, sees, socketUser, startClusterAndBrowser, tearDown,
  type ChatPage,
} from "./support.ts";

describe("the browser chat client on a 2-instance cluster", () => {
  let c: Cluster;
  let browser: Browser | undefined;
  let alice: ChatPage;
  let bob: ChatPage;
  const sockets: TestClient[] = [];
  let port0: number;
  let port1: number;

  beforeAll(async () => {
    [c, browser] = await startClusterAndBrowser({ size: 2, redisDb: REDIS_DB.browser });
    [port0, port1] = [c.nodes[0].port, c.nodes[1].port];
  }, 40_000);

  afterAll(() => tearDown(sockets, browser, c), 30_000);

  const shot = (p: ChatPage, name: string) => screenshot(p, `browser-${name}`);

  const openChat = (origin: number, user: string, peer: string) => openChatFrom(browser!, c, origin, user, peer);

  test("each page connects through getNettyOnlineInfo to a different instance, and its indicator names it", async () => {
    // Pinned: alice opens the page from instance 0 while a ballast connection makes instance 1 the
    // least loaded; bob opens it from instance 1 once instance 0 is the least loaded.
    const ballast = await socketUser(c, sockets, 0, "ballast");
    await routesTo(c, 0, port1);
    alice = await openChat(0, "alice", "bob");
    expect(await onlinePort(alice)).toBe(port1);
    ballast.close();
    await routesTo(c, 1, port0);
    bob = await openChat(1, "bob", "alice");
    expect(await onlinePort(bob)).toBe(port0);
    expect(await alice.page.textContent("#conn")).toContain(`127.0.0.1:${port1}`);
    expect(await bob.page.textContent("#conn")).toContain(`127.0.0.1:${port0}`);
    await shot(alice, "01-alice-online");
  }, 30_000);

  test("the client's reconnect delays and instance addresses follow the rules (checked in the page)", async () => {
    const got = await alice.page.evaluate(async () => {
      const path = "/client/format.js";
      const { backoffDelay, wsUrlsFor } = await import(path);
      const remote = { protocol: "https:", hostname: "chat.example.com" };
      const maxDelay = (attempt: number) => Math.max(...Array.from({ length: 2000 }, () => backoffDelay(attempt)));
      return {
        unspecified: wsUrlsFor("0.0.0.0", 875, location),
        loopbackForRemotePage: wsUrlsFor("127.0.0.1", 875, remote),
        routable: wsUrlsFor("10.0.0.5", 876, remote, "t.k"),
        delays: [0, 1, 3, 5, 12].map(maxDelay),
      };
    });
    expect(got.unspecified).toEqual(["ws://127.0.0.1:875/ws"]);
    expect(got.loopbackForRemotePage).toEqual(["wss://chat.example.com:875/ws", "wss://127.0.0.1:875/ws"]);
    expect(got.routable).toEqual(["wss://10.0.0.5:876/ws?token=t.k", "wss://chat.example.com:876/ws?token=t.k"]);
    // Full jitter: uniform in [0, min(10 s, 500 ms * 2^attempt)).
    const caps = [500, 1000, 4000, 10_000, 10_000];
    got.delays.forEach((d: number, i: number) => {
      expect(d).toBeLessThan(caps[i]);
      expect(d).toBeGreaterThan(caps[i] * 0.9);
    });
  });

  test("messages typed on either page appear on the other, own ones with a delivery tick", async () => {
    await say(alice, "Hi Bob! Are you around?");
    await sees(bob, "peer", "Hi Bob! Are you around?");
    await sees(alice, "own", "Hi Bob! Are you around?");
    expect(await bubble(alice, "own", "Hi Bob! Are you around?").getAttribute("data-status")).toMatch(/^(sent|read)$/);
    await say(bob, "Hey Alice, yes! <b>not bold</b>");
    await sees(alice, "peer", "Hey Alice, yes! <b>not bold</b>");
    expect(await alice.page.locator("#message-list b").count()).toBe(0); // text, never HTML

    const picture = await alice.page.evaluate(() => {
      const canvas = document.createElement("canvas");
      canvas.width = 240;
      canvas.height = 140;
      const g = canvas.getContext("2d")!;
      const sky = g.createLinearGradient(0, 0, 0, 140);
      sky.addColorStop(0, "#ff9a5a");
      sky.addColorStop(1, "#ffd36e");
      g.fillStyle = sky;
      g.fillRect(0, 0, 240, 140);
      g.fillStyle = "#fff3b0";
      g.beginPath();
      g.arc(170, 70, 26, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = "#3d7f5a";
      g.beginPath();
      g.moveTo(0, 140);
      g.quadraticCurveTo(70, 70, 140, 120);
      g.quadraticCurveTo(200, 90, 240, 110);
      g.lineTo(240, 140);
      g.fill();
      return canvas.toDataURL("image/png");
    });
    await alice.page.fill("#text", picture);
    await alice.page.click("#send-image");
    await bob.page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>("#message-list li.msg.peer img.photo");
      return img?.complete && img.naturalWidth === 240; // rendered as a picture, decoded
    }, null, { timeout: 5000 });
    await shot(bob, "02-bob-conversation");
  }, 20_000);

  test("the receiver's read receipt turns the sender's tick into 'read'", async () => {
    // bob's page shows the conversation, so it signed alice's messages (SIGNED) as they came into view.
    await sees(alice, "own", "Hi Bob! Are you around?", "read");
    await sees(bob, "own", "Hey Alice, yes!", "read");
    expect(await bubble(alice, "own", "Hi Bob! Are you around?").locator(".ticks").getAttribute("title")).toBe("Read");
    await shot(alice, "03-alice-read-receipts");
  }, 15_000);

  test("a message the server refuses for good shows as not sent, with the reason, and is not resent", async () => {
    const dan = await openChat(0, "dan", "group:4242424242"); // no such group: NOT_FOUND, naming the message's clientMsgId
    await say(dan, "to nowhere");
    await sees(dan, "own", "to nowhere", "failed");
    expect(await bubble(dan, "own", "to nowhere").locator(".ticks").getAttribute("title")).toBe("Not sent: no group group:4242424242");
    expect(await dan.page.evaluate(() => sessionStorage.getItem("im.dan.outbox"))).toBe("[]"); // dropped from the resend queue
    await dan.page.context().close();
  }, 15_000);

  test("a message from someone else shows an unread badge that clears when that conversation opens", async () => {
    const carol = await socketUser(c, sockets, 1, "carol"); // stays: it keeps instance 1 the busier one for the reload below
    await carol.say("carol", "alice", "Are you coming tonight?");
    await carol.say("carol", "alice", "Bring snacks!");
    const badge = alice.page.locator('#peers button[data-peer="carol"] .badge');
    await badge.waitFor({ timeout: 5000 });
    expect(await eventually(async () => (await badge.textContent()) === "2", 3000)).toBe(true);
    expect(await alice.page.title()).toContain("(2)");
    // The server counted them too (asynchronously, through the queue); opening the chat clears both.
    expect(await eventually(async () => (await http(`${c.httpUrl(1)}/chat/getMyUnReadCounts?myId=alice`)).body.data.carol === 2, 5000)).toBe(true);
    await shot(alice, "04-alice-unread-badge");
    await alice.page.click('#peers button[data-peer="carol"]');
    await sees(alice, "peer", "Bring snacks!");
    expect(await badge.count()).toBe(0);
    expect(await eventually(async () => (await http(`${c.httpUrl(1)}/chat/getMyUnReadCounts?myId=alice`)).body.data.carol === 0, 5000)).toBe(true);
    await alice.page.click('#peers button[data-peer="bob"]');
    await sees(alice, "peer", "Hey Alice, yes!");
  }, 20_000);

  test("messages sent from the user's other device show on the page as own messages", async () => {
    const phone = await socketUser(c, sockets, 1, "alice"); // alice's second device
    for (let i = 1; i <= 20; i++) await phone.say("alice", "bob", `From alice's phone #${i}`);
    phone.close();
    await sees(alice, "own", "From alice's phone #20");
    await sees(bob, "peer", "From alice's phone #20");
    expect(await bubble(alice, "own", "From alice's phone #20").getAttribute("data-status")).toMatch(/^(sent|read)$/);
  }, 15_000);

  test("a reloaded page signs in again, shows the newest history page and loads older ones on demand", async () => {
    // Instance 1 holds alice and carol, instance 0 only bob: the reloaded page returns to instance 0.
    const counts = async () => Object.fromEntries((await c.serverList()).map((n) => JSON.parse(n.data)).map((d) => [d.port, d.onlineCounts]));
    expect(await eventually(async () => (await counts())[port1] === 2, 3000)).toBe(true);
    await routesTo(c, 1, port0);
    await bob.page.reload({ timeout: 10_000 });
    expect(await onlinePort(bob)).toBe(port0);
    await sees(bob, "peer", "From alice's phone #20");
    await sees(bob, "peer", "From alice's phone #1");
    expect(await bubble(bob, "peer", "Hi Bob! Are you around?").count()).toBe(0); // on page 2
    const older = await loadOlder(bob);
    await sees(bob, "peer", "Hi Bob! Are you around?");
    await sees(bob, "own", "Hey Alice, yes!", "read"); // read state comes from history
    await bob.page.locator("#message-list img.photo").waitFor({ timeout: 5000 });
    expect(await older.isVisible()).toBe(false); // 23 messages: two pages of 20
    expect(await bob.page.locator("#message-list li.msg").count()).toBe(23);
    await bob.page.evaluate(() => document.getElementById("messages")!.scrollTo(0, 0));
    await shot(bob, "05-bob-after-reload-and-load-older");
    await bob.page.locator("#message-list li.msg").last().scrollIntoViewIfNeeded(); // back to the newest
  }, 20_000);

  test("after its instance is SIGKILLed a page reconnects to the other one and gets what was sent meanwhile", async () => {
    c.nodes[0].proc.kill("SIGKILL");
    await bob.page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 5000 });
    // alice (on instance 1) writes while bob has no connection; bob writes too: it waits in his outbox.
    await say(alice, "Sent while you were away (1)");
    await say(alice, "Sent while you were away (2)");
    await sees(alice, "own", "Sent while you were away (2)", "sent");
    await say(bob, "Typed while reconnecting");
    await sees(bob, "own", "Typed while reconnecting", "pending");
    await shot(bob, "06-bob-reconnecting");

    // The dead instance leaves getNettyOnlineInfo when its ZooKeeper session expires (about 4 s).
    expect(await onlinePort(bob, 30_000)).toBe(port1);
    await sees(bob, "peer", "Sent while you were away (1)");
    await sees(bob, "peer", "Sent while you were away (2)");
    await sees(bob, "own", "Typed while reconnecting", undefined, 5000);
    await sees(alice, "peer", "Typed while reconnecting");
    await sees(bob, "own", "Typed while reconnecting", "read", 5000);
    for (const text of ["Sent while you were away (1)", "Sent while you were away (2)"]) {
      expect(await bubble(bob, "peer", text).count()).toBe(1);
    }
    expect(await bubble(alice, "peer", "Typed while reconnecting").count()).toBe(1);
    await sees(alice, "own", "Sent while you were away (2)", "read");
    await shot(bob, "07-bob-recovered");
    await shot(alice, "08-alice-after-failover");
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 45_000);
});
