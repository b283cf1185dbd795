// End-to-end: the browser client's conversation list (client/conversation-list.js, peer-list.js) in
// real headless Chromium on a 2-instance cluster: a fresh browser lists the user's conversations from
// GET /chat/conversations newest first with the last message and the unread count; a live message
// moves its conversation to the top and bumps its count unless it is open; opening one clears its
// count (on the server too); a long list loads older conversations on demand.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import type { Cluster } from "../support/cluster.ts";
import { REDIS_DB } from "../support/services.ts";
import { http } from "../support/target.ts";
import { eventually } from "../support/wait.ts";
import type { TestClient } from "../support/ws-client.ts";
import { screenshot, sees, signIn, socketUser, startClusterAndBrowser, tearDown, type ChatPage } from "./support.ts";

describe("the conversation list in the browser client", () => {
  let c: Cluster;
  let browser: Browser | undefined;
  const sockets: TestClient[] = [];
  let xena: TestClient;
  let yuri: TestClient;
  let dora: ChatPage;
  let groupId = "";

  beforeAll(async () => {
    [c, browser] = await startClusterAndBrowser({ size: 2, redisDb: REDIS_DB.browserConversations });
  }, 40_000);
  afterAll(() => tearDown(sockets, browser, c), 30_000);

  const enc = encodeURIComponent;
  const shot = (p: ChatPage, name: string) => screenshot(p, `conversations-${name}`);
  const unreadOf = async (user: string) => (await http(`${c.httpUrl(0)}/chat/getMyUnReadCounts?myId=${enc(user)}`)).body?.data ?? {};
  /** The list's conversation ids, top to bottom. */
  const order = (p: ChatPage) => p.page.$$eval("#peers button.peer-item", (bs) => bs.map((b) => (b as HTMLElement).dataset.peer));
  const entry = (p: ChatPage, id: string) => p.page.locator(`#peers button[data-peer="${id}"]`);
  const badge = (p: ChatPage, id: string) => entry(p, id).locator(".badge");
  const preview = (p: ChatPage, id: string) => entry(p, id).locator(".peer-preview").textContent();
  /** Waits until the list reads `ids` from the top (then anything). */
  const listStarts = async (p: ChatPage, ids: string[]) => {
    const ok = await eventually(async () => JSON.stringify((await order(p)).slice(0, ids.length)) === JSON.stringify(ids), 5000);
    if (!ok) expect((await order(p)).slice(0, ids.length)).toEqual(ids);
  };
  const badgeReads = async (p: ChatPage, id: string, text: string) => {
    const ok = await eventually(async () => (await badge(p, id).count()) === 1 && (await badge(p, id).textContent()) === text, 5000);
    if (!ok) expect(await badge(p, id).allTextContents()).toEqual([text]);
  };

  test("a fresh browser lists the conversations newest first, with the last message, its time and the unread count", async () => {
    xena = await socketUser(c, sockets, 0, "xena");
    yuri = await socketUser(c, sockets, 1, "yuri");
    const zed = await socketUser(c, sockets, 0, "zed");
    await xena.say("xena", "dora", "hello from xena");
    const created = await fetch(`${c.httpUrl(1)}/chat/group/create`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "Book club", members: ["dora", "yuri"], ownerId: "zed" }),
    });
    groupId = (await created.json()).data.groupId;
    expect(groupId).toMatch(/^group:\d+$/);
    await zed.say("zed", groupId, "club meets friday", { communicationType: 2 });
    await yuri.say("yuri", "dora", "yuri one");
    await yuri.say("yuri", "dora", "yuri two");
    // The counters are written through the queue: wait until the server has them all.
    expect(await eventually(async () => {
      const u = await unreadOf("dora");
      return u.xena === 1 && u.yuri === 2 && u[groupId] === 1;
    }, 5000)).toBe(true);

    dora = await signIn(browser!, c, 0, "dora"); // a new browser context: nothing in localStorage
    await listStarts(dora, ["yuri", groupId, "xena", "system"]);
    expect(await preview(dora, "yuri")).toBe("yuri two");
    expect(await preview(dora, groupId)).toBe("zed: club meets friday");
    expect(await preview(dora, "xena")).toBe("hello from xena");
    expect(await entry(dora, groupId).locator(".peer-name").textContent()).toBe("Book club");
    await badgeReads(dora, "yuri", "2");
    await badgeReads(dora, groupId, "1");
    await badgeReads(dora, "xena", "1");
    for (const id of ["yuri", groupId, "xena"]) expect((await entry(dora, id).locator(".peer-when").textContent())?.length).toBeGreaterThan(0);
    expect(await dora.page.title()).toContain("(4)");
    await shot(dora, "01-list");
  }, 30_000);

  test("a live message moves its conversation to the top with its preview and bumps its unread count", async () => {
    await xena.say("xena", "dora", "xena again");
    await listStarts(dora, ["xena", "yuri", groupId]);
    await badgeReads(dora, "xena", "2");
    expect(await preview(dora, "xena")).toBe("xena again");
    await shot(dora, "02-live-to-top");
  }, 15_000);

  test("opening a conversation clears its count, here and on the server; a message to the open one moves it up without a count", async () => {
    await entry(dora, "xena").click();
    await sees(dora, "peer", "xena again");
    expect(await eventually(async () => (await badge(dora, "xena").count()) === 0, 3000)).toBe(true);
    expect(await eventually(async () => !(await unreadOf("dora")).xena, 5000)).toBe(true);
    await yuri.say("yuri", "dora", "yuri three");
    await listStarts(dora, ["yuri", "xena"]);
    await badgeReads(dora, "yuri", "3");
    await xena.say("xena", "dora", "xena while open");
    await sees(dora, "peer", "xena while open");
    await listStarts(dora, ["xena", "yuri"]);
    expect(await preview(dora, "xena")).toBe("xena while open");
    // Still no count for the open conversation, and none on the server once the live clear ran.
    await Bun.sleep(300);
    expect(await badge(dora, "xena").count()).toBe(0);
    expect(await eventually(async () => !(await unreadOf("dora")).xena, 5000)).toBe(true);
    expect(dora.errors).toEqual([]);
    await shot(dora, "03-opened");
  }, 20_000);

  test("a long list shows one page and loads the older conversations on demand", async () => {
    // 23 senders, oldest first: page 1 holds the newest 20.
    const senders = Array.from({ length: 23 }, (_, i) => `s${String(i).padStart(2, "0")}`);
    for (const [i, s] of senders.entries()) await (await socketUser(c, sockets, i % 2, s)).say(s, "pat", `hi from ${s}`);
    const pat = await signIn(browser!, c, 1, "pat");
    const newest = [...senders].reverse();
    await listStarts(pat, newest.slice(0, 20));
    expect(await entry(pat, "s02").count()).toBe(0);
    const more = pat.page.locator("#peers-more");
    await more.waitFor({ timeout: 5000 });
    await more.click();
    await listStarts(pat, [...newest, "system"]);
    expect(await more.count()).toBe(0);
    expect(await preview(pat, "s00")).toBe("hi from s00");
    expect(pat.errors).toEqual([]);
    await shot(pat, "04-older-loaded");
  }, 30_000);
});
