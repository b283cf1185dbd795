// End-to-end: group read state in the browser client (client/group-reads.js) in real headless
// Chromium on a 2-instance cluster: a member viewing the group marks it read, and under the
// sender's own message its page shows who read it ("read by ben", then "read by ben, cat"), live
// and after a reload (from the server's read-state). Screenshots go to test-artifacts/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import type { Cluster } from "../support/cluster.ts";
import { REDIS_DB } from "../support/services.ts";
import { http } from "../support/target.ts";
import { eventually } from "../support/wait.ts";
import { bubble, say, screenshot, sees, signIn, startClusterAndBrowser, tearDown, waitOnline, type ChatPage } from "./support.ts";

describe("group read state in the browser client", () => {
  let c: Cluster;
  let browser: Browser | undefined;
  let ann: ChatPage;
  let ben: ChatPage;
  let cat: ChatPage;
  let groupId = "";
  const enc = encodeURIComponent;

  beforeAll(async () => {
    [c, browser] = await startClusterAndBrowser({ size: 2, redisDb: REDIS_DB.browserReads });
  }, 40_000);
  afterAll(() => tearDown([], browser, c), 30_000);

  const entry = (p: ChatPage) => p.page.locator(`#peers button[data-peer="${groupId}"]`);
  const readBy = (p: ChatPage, text: string) => bubble(p, "own", text).locator(".read-by");
  const unreadOf = async (user: string) => (await http(`${c.httpUrl(0)}/chat/getMyUnReadCounts?myId=${enc(user)}`)).body?.data?.[groupId];

  test("three members on two instances; the sender's message shows nobody read it yet", async () => {
    const created = await fetch(`${c.httpUrl(0)}/chat/group/create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Book club", members: ["ben", "cat"], ownerId: "ann" }),
    });
    groupId = (await created.json()).data.groupId;
    ann = await signIn(browser!, c, 0, "ann");
    ben = await signIn(browser!, c, 1, "ben");
    cat = await signIn(browser!, c, 0, "cat");
    await entry(ann).click();
    await say(ann, "Chapter 3 by Friday?");
    await sees(ann, "own", "Chapter 3 by Friday?");
    for (const p of [ben, cat]) await entry(p).locator(".badge", { hasText: "1" }).waitFor({ timeout: 5000 });
    expect(await readBy(ann, "Chapter 3 by Friday?").count()).toBe(0);
  }, 30_000);

  test("a member views the group: it is marked read, and the sender's page says who read it", async () => {
    await entry(ben).click();
    await readBy(ann, "Chapter 3 by Friday?").getByText("read by ben", { exact: true }).waitFor({ timeout: 5000 });
    expect(await eventually(async () => (await unreadOf("ben")) === 0, 5000)).toBe(true);
    expect(await unreadOf("cat")).toBe(1);
    await entry(cat).click();
    await readBy(ann, "Chapter 3 by Friday?").getByText("read by ben, cat", { exact: true }).waitFor({ timeout: 5000 });
    const who = await http(`${c.httpUrl(1)}/chat/group/${enc(groupId)}/reads?userId=ann&msgId=${await bubble(ann, "own", "Chapter 3 by Friday?").getAttribute("data-msg-id")}`, "GET");
    expect(who.body.data).toMatchObject({ readBy: ["ben", "cat"], unreadBy: [] });
    // Only under the user's own messages: the readers' pages show none.
    expect(await ben.page.locator("#message-list .read-by").count()).toBe(0);
    await screenshot(ann, "reads-01-read-by");
  }, 20_000);

  test("after a reload the sender's page loads who read what from the server", async () => {
    await ann.page.reload({ timeout: 10_000 });
    await waitOnline(ann.page);
    await entry(ann).click();
    await readBy(ann, "Chapter 3 by Friday?").getByText("read by ben, cat", { exact: true }).waitFor({ timeout: 5000 });
    for (const p of [ann, ben, cat]) expect(p.errors).toEqual([]);
  }, 20_000);
});
