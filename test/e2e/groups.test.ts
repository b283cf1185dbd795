// End-to-end: group chat and system broadcasts in the browser client (client/), three users in real
// headless Chromium on a real 2-instance cluster: a group created through the UI, live group messages
// with sender names on every page, unread badges, read receipts, history after a reload, the members
// view, and an admin broadcast in every page's System conversation. Screenshots go to test-artifacts/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import type { Cluster } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { http } from "../support/target.ts";
import type { TestClient } from "../support/ws-client.ts";
import { REDIS_DB } from "../support/services.ts";
import {
  bubble, loadOlder, onlinePort, routesTo, say, screenshot, sees, signIn, socketUser, startClusterAndBrowser, tearDown, waitOnline,
  type ChatPage,
} from "./support.ts";

const ADMIN = "admin-token-0123456789";
const GROUP = "Weekend trip";

describe("group chat and system broadcasts in the browser client on a 2-instance cluster", () => {
  let c: Cluster;
  let browser: Browser | undefined;
  let ann: ChatPage;
  let ben: ChatPage;
  let cat: ChatPage;
  let groupId = "";
  const sockets: TestClient[] = [];

  beforeAll(async () => {
    [c, browser] = await startClusterAndBrowser({ size: 2, redisDb: REDIS_DB.browserGroups, env: { ADMIN_TOKEN: ADMIN } });
  }, 40_000);

  afterAll(() => tearDown(sockets, browser, c), 30_000);

  const shot = (p: ChatPage, name: string) => screenshot(p, `groups-${name}`);
  const enc = encodeURIComponent;

  /** A peer bubble in the open group shows `sender`'s name above `text` (directly or earlier in its run). */
  async function seesFrom(p: ChatPage, sender: string, text: string): Promise<void> {
    const b = p.page.locator(`#message-list li.msg.peer[data-sender="${sender}"]`, { hasText: text });
    await b.first().waitFor({ timeout: 5000 });
    const named = await p.page.evaluate(({ sender, text }) => {
      const items = Array.from(document.querySelectorAll<HTMLElement>("#message-list li.msg"));
      let i = items.findIndex((li) => li.dataset.sender === sender && li.textContent!.includes(text));
      // The name is on the first bubble of a run of one sender's messages.
      while (i > 0 && !items[i].classList.contains("first")) i--;
      const name = items[i]?.querySelector<HTMLElement>(".sender");
      return name && !name.hidden ? name.textContent : null;
    }, { sender, text });
    expect(named).toBe(sender);
  }

  const groupEntry = (p: ChatPage) => p.page.locator(`#peers button[data-kind="group"]`, { hasText: GROUP });
  const unreadOf = async (user: string, key: string) => (await http(`${c.httpUrl(0)}/chat/getMyUnReadCounts?myId=${enc(user)}`)).body?.data?.[key];

  test("three users sign in; two of them on different instances", async () => {
    const [port0, port1] = [c.nodes[0].port, c.nodes[1].port];
    ann = await signIn(browser!, c, 0, "ann");
    const annPort = await onlinePort(ann);
    const other = annPort === port0 ? port1 : port0;
    await routesTo(c, 1, other); // ann's instance now counts one connection more
    ben = await signIn(browser!, c, 1, "ben");
    expect(await onlinePort(ben)).toBe(other);
    cat = await signIn(browser!, c, 0, "cat");
    await onlinePort(cat);
    // The System conversation is listed from the start, with its own avatar.
    expect(await ann.page.locator('#peers button[data-peer="system"] .avatar.system').count()).toBe(1);
  }, 30_000);

  test("a user creates a group with two others through the New group dialog; it opens, with its members named", async () => {
    await ann.page.click("#new-group");
    await ann.page.fill("#group-name", GROUP);
    await ann.page.fill("#group-members", "ben, cat");
    await shot(ann, "01-ann-new-group-dialog");
    await ann.page.click("#group-create");
    await ann.page.waitForSelector("#group-dialog", { state: "hidden", timeout: 5000 });
    await ann.page.locator("#peer-name", { hasText: GROUP }).waitFor({ timeout: 5000 });
    await ann.page.locator("#peer-sub", { hasText: "ben, cat, You" }).waitFor({ timeout: 5000 });
    groupId = (await groupEntry(ann).getAttribute("data-peer"))!;
    expect(groupId).toMatch(/^group:\d+$/);
    expect(await groupEntry(ann).locator(".avatar.group").count()).toBe(1);
    const members = await http(`${c.httpUrl(1)}/chat/group/${enc(groupId)}/members`, "GET");
    expect(members.body.data).toMatchObject({ name: GROUP, ownerId: "ann", members: ["ann", "ben", "cat"] });
  }, 15_000);

  test("the first group message reaches both members live; the group appears on their pages with an unread badge", async () => {
    await say(ann, "Who's in for Saturday? <b>hike</b>");
    await sees(ann, "own", "Who's in for Saturday?");
    for (const p of [ben, cat]) {
      // They were added by someone else: the group joins their list when its first message arrives.
      await groupEntry(p).waitFor({ timeout: 5000 });
      await groupEntry(p).locator(".badge", { hasText: "1" }).waitFor({ timeout: 5000 });
      expect(await groupEntry(p).locator(".peer-preview").textContent()).toBe("ann: Who's in for Saturday? <b>hike</b>");
    }
    expect(await ben.page.title()).toContain("(1)");
    expect(await eventually(async () => (await unreadOf("ben", groupId)) === 1, 5000)).toBe(true);
    await shot(ben, "02-ben-group-unread-badge");
  }, 15_000);

  test("a member opens the group: the sender's name, the badge cleared, and the sender sees Read", async () => {
    await groupEntry(ben).click();
    await seesFrom(ben, "ann", "Who's in for Saturday?");
    expect(await ben.page.locator("#message-list b").count()).toBe(0); // text, never HTML
    expect(await groupEntry(ben).locator(".badge").count()).toBe(0);
    expect(await eventually(async () => (await unreadOf("ben", groupId)) === 0, 5000)).toBe(true);
    // ben's page signed the message it showed: ann's tick turns to Read.
    await sees(ann, "own", "Who's in for Saturday?", "read");
    expect(await bubble(ann, "own", "Who's in for Saturday?").locator(".ticks").getAttribute("title")).toBe("Read");

    await say(ben, "I'm in! Bringing the map.");
    await seesFrom(ann, "ben", "I'm in! Bringing the map.");
    await groupEntry(cat).locator(".badge", { hasText: "2" }).waitFor({ timeout: 5000 });
    await groupEntry(cat).click();
    await seesFrom(cat, "ann", "Who's in for Saturday?");
    await seesFrom(cat, "ben", "I'm in! Bringing the map.");
    await say(cat, "Me too, ça marche! See you there");
    await seesFrom(ann, "cat", "Me too, ça marche!");
    await seesFrom(ben, "cat", "Me too, ça marche!");
    await sees(cat, "own", "Me too, ça marche!", "read");
    await shot(ann, "03-ann-group-conversation");
  }, 20_000);

  test("own group messages sent from another device show as own; a reload shows the newest page and loads older ones", async () => {
    const phone = await socketUser(c, sockets, 1, "ann"); // ann's second device
    for (let i = 1; i <= 20; i++) await phone.say("ann", groupId, `Packing list #${i}`, { communicationType: 2 });
    phone.close();
    await sees(ann, "own", "Packing list #20");
    await seesFrom(cat, "ann", "Packing list #20");
    await seesFrom(ben, "ann", "Packing list #20");

    // cat's tab keeps the open conversation: after the reload it shows the group's newest 20 of 23.
    await cat.page.reload({ timeout: 10_000 });
    await waitOnline(cat.page);
    await cat.page.locator("#peer-name", { hasText: GROUP }).waitFor({ timeout: 5000 });
    await seesFrom(cat, "ann", "Packing list #1");
    await seesFrom(cat, "ann", "Packing list #20");
    expect(await bubble(cat, "peer", "Who's in for Saturday?").count()).toBe(0); // on page 2
    const older = await loadOlder(cat);
    await seesFrom(cat, "ann", "Who's in for Saturday?");
    await seesFrom(cat, "ben", "I'm in!");
    await sees(cat, "own", "Me too, ça marche!");
    expect(await older.isVisible()).toBe(false);
    expect(await cat.page.locator("#message-list li.msg").count()).toBe(23);
    await cat.page.evaluate(() => document.getElementById("messages")!.scrollTo(0, 0));
    await shot(cat, "04-cat-group-after-reload-and-load-older");
  }, 25_000);

  test("the members view: the owner adds and removes a member; another member only sees the list", async () => {
    await ann.page.click("#members-btn");
    const list = ann.page.locator("#members-list");
    await list.locator("li.member").nth(2).waitFor({ timeout: 5000 });
    expect(await list.locator("li.member .member-name").allTextContents()).toEqual(["ann (you)", "ben", "cat"]);
    expect(await list.locator('li.member[data-user="ann"] .owner-tag').textContent()).toBe("Owner");
    await ann.page.fill("#members-add-input", "dan, eve");
    await ann.page.click('#members-add button[type="submit"]');
    await list.locator('li.member[data-user="eve"]').waitFor({ timeout: 5000 });
    const members = async () => (await http(`${c.httpUrl(1)}/chat/group/${enc(groupId)}/members`, "GET")).body.data.members;
    expect(await members()).toEqual(["ann", "ben", "cat", "dan", "eve"]);
    await shot(ann, "05-ann-members-dialog");
    await list.locator('li.member[data-user="eve"] button', { hasText: "Remove" }).click();
    await list.locator('li.member[data-user="eve"]').waitFor({ state: "detached", timeout: 5000 });
    expect(await members()).toEqual(["ann", "ben", "cat", "dan"]);
    await ann.page.click("#members-close");
    await ann.page.locator("#peer-sub", { hasText: "ben, cat, dan, You" }).waitFor({ timeout: 5000 });

    await ben.page.click("#members-btn");
    await ben.page.locator('#members-list li.member[data-user="dan"]').waitFor({ timeout: 5000 });
    expect(await ben.page.locator("#members-add").isVisible()).toBe(false);
    expect(await ben.page.locator("#members-list button").count()).toBe(0);
    expect(await ben.page.textContent("#members-note")).toContain("Only the owner, ann");
    await ben.page.keyboard.press("Escape");
    await ben.page.waitForSelector("#members-dialog", { state: "hidden", timeout: 5000 });
  }, 20_000);

  test("an admin broadcast appears live on every page in the System conversation, and in its history after a reload; group receipts survive a reload", async () => {
    const text = "Maintenance tonight at 22:00 <i>UTC</i>";
    const res = await fetch(`${c.httpUrl(1)}/chat/broadcast`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ msg: text }),
    });
    expect(res.status).toBe(200);
    for (const p of [ann, ben, cat]) {
      const entry = p.page.locator('#peers button[data-peer="system"]');
      await entry.locator(".peer-preview", { hasText: text }).waitFor({ timeout: 5000 });
      await entry.locator(".badge", { hasText: "1" }).waitFor({ timeout: 5000 });
    }
    await shot(ben, "06-ben-system-unread");
    for (const p of [ann, ben, cat]) {
      await p.page.click('#peers button[data-peer="system"]');
      await sees(p, "notice", text);
      expect(await p.page.locator("#composer").isVisible()).toBe(false); // no reply box
      expect(await p.page.locator("#composer-note").isVisible()).toBe(true);
      expect(await p.page.locator("#message-list i").count()).toBe(0);
      expect(await p.page.locator('#peers button[data-peer="system"] .badge').count()).toBe(0);
    }
    await shot(cat, "07-cat-system-conversation");

    await ben.page.reload({ timeout: 10_000 });
    await waitOnline(ben.page);
    await ben.page.locator("#peer-name", { hasText: "System" }).waitFor({ timeout: 5000 });
    await sees(ben, "notice", text); // from /chat/list/ben/system
    expect(await bubble(ben, "notice", text).count()).toBe(1);
    await groupEntry(ben).click();
    await seesFrom(ben, "ann", "Packing list #20");
    await shot(ben, "08-ben-group-after-reload");

    // The server keeps no read state for group messages: the page remembers the receipts it got.
    await ann.page.reload({ timeout: 10_000 });
    await waitOnline(ann.page);
    await groupEntry(ann).click();
    await sees(ann, "own", "Packing list #20", "read");
    for (const p of [ann, ben, cat]) expect(p.errors).toEqual([]);
  }, 25_000);
});
