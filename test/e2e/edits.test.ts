// End-to-end: recall, edit and delete for me in the browser client (client/message-edits.js,
// client/edit-menu.js) in real headless Chromium on a 2-instance cluster: the sender edits and
// recalls its message from the message's menu, the peer's page (on the other instance) shows the
// new text marked "edited", then "Message recalled"; a delete for me leaves the peer's page alone;
// a page opened later shows the results from history.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import type { Cluster } from "../support/cluster.ts";
import { REDIS_DB } from "../support/services.ts";
import { bubble, openChat, say, screenshot, sees, startClusterAndBrowser, tearDown, type ChatPage } from "./support.ts";

describe("recall, edit and delete in the browser client", () => {
  let c: Cluster;
  let browser: Browser | undefined;
  let alice: ChatPage;
  let bob: ChatPage;

  beforeAll(async () => {
    [c, browser] = await startClusterAndBrowser({ size: 2, redisDb: REDIS_DB.browserEdits });
  }, 40_000);
  afterAll(() => tearDown([], browser, c), 30_000);

  const open = (origin: number, user: string, peer: string) => openChat(browser!, c, origin, user, peer);
  /** Opens the menu of the bubble of kind `who` showing `text` and clicks `action`. */
  const act = async (p: ChatPage, who: "own" | "peer", text: string, action: string) => {
    const b = bubble(p, who, text).first();
    await b.hover();
    await b.locator(".msg-menu-btn").click();
    await b.locator(".msg-menu").getByRole("menuitem", { name: action }).click();
  };
  const recalledNote = (p: ChatPage, who: "own" | "peer") => p.page.locator(`#message-list li.msg.${who} .recalled`);

  test("the sender edits its message: the peer's page shows the new text marked edited", async () => {
    alice = await open(0, "alice", "bob");
    bob = await open(1, "bob", "alice");
    await say(alice, "see you at 5");
    await sees(bob, "peer", "see you at 5");
    const own = bubble(alice, "own", "see you at 5").first();
    await own.hover();
    await own.locator(".msg-menu-btn").click();
    expect(await own.locator(".msg-menu [role=menuitem]").allTextContents()).toEqual(["Recall", "Edit", "Delete for me"]);
    await screenshot(alice, "edits-00-menu");
    await alice.page.keyboard.press("Escape");
    alice.page.once("dialog", (d) => void d.accept("see you at 6"));
    await act(alice, "own", "see you at 5", "Edit");
    await sees(bob, "peer", "see you at 6");
    await bubble(bob, "peer", "see you at 6").locator(".edited-mark").waitFor({ timeout: 5000 });
    await sees(alice, "own", "see you at 6");
    expect(await bubble(bob, "peer", "see you at 5").count()).toBe(0);
    await screenshot(bob, "edits-01-edited");
  }, 30_000);

  test("the sender recalls a message: both pages show it recalled, its text gone", async () => {
    await say(alice, "wrong chat, sorry");
    await sees(bob, "peer", "wrong chat, sorry");
    await act(alice, "own", "wrong chat, sorry", "Recall");
    await recalledNote(bob, "peer").getByText("Message recalled").waitFor({ timeout: 5000 });
    await recalledNote(alice, "own").waitFor({ timeout: 5000 });
    expect(await bob.page.locator("#message-list").getByText("wrong chat, sorry").count()).toBe(0);
    // A peer's message offers no recall or edit; its menu has Delete for me only.
    const b = bubble(bob, "peer", "see you at 6").first();
    await b.hover();
    await b.locator(".msg-menu-btn").click();
    expect(await b.locator(".msg-menu [role=menuitem]").allTextContents()).toEqual(["Delete for me"]);
    await screenshot(bob, "edits-02-recalled");
    await bob.page.keyboard.press("Escape");
    await b.locator(".msg-menu").waitFor({ state: "detached", timeout: 2000 });
    // The list's preview of the conversation says so too.
    await bob.page.locator("#peers").getByText("Message recalled").waitFor({ timeout: 5000 });
  }, 30_000);

  test("a delete for me removes the message from this user's page only, and from its history", async () => {
    await act(bob, "peer", "see you at 6", "Delete for me");
    await bubble(bob, "peer", "see you at 6").waitFor({ state: "detached", timeout: 5000 });
    await sees(alice, "own", "see you at 6");
    // A page opened later (history) shows the edit and the recall, and not what bob deleted.
    const later = await open(1, "bob", "alice");
    await recalledNote(later, "peer").waitFor({ timeout: 5000 });
    expect(await bubble(later, "peer", "see you at").count()).toBe(0);
    const aliceLater = await open(0, "alice", "bob");
    await sees(aliceLater, "own", "see you at 6");
    await bubble(aliceLater, "own", "see you at 6").locator(".edited-mark").waitFor({ timeout: 5000 });
    expect([...alice.errors, ...bob.errors, ...later.errors, ...aliceLater.errors]).toEqual([]);
  }, 30_000);
});
