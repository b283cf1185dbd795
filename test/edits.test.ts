// Recall, edit and delete-for-me against a standalone instance (the suite in
// test/support/edit-behaviour.ts), and their HTTP routes with AUTH_SECRET set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../lib/transport/auth.ts";
import { describeEdits, EDIT_ENV } from "./support/edit-behaviour.ts";
import { standaloneTarget, type Target } from "./support/target.ts";
import { TestClient } from "./support/ws-client.ts";

describeEdits("standalone recall, edit and delete", () => standaloneTarget(EDIT_ENV));

describe("the HTTP routes with AUTH_SECRET set", () => {
  const SECRET = "test-secret-0123456789abcdef";
  let t: Target;
  beforeAll(async () => {
    t = await standaloneTarget({ ...EDIT_ENV, AUTH_SECRET: SECRET });
  });
  afterAll(() => t.stop());

  test("act as the token's user only", async () => {
    const alice = await mintToken(SECRET, "alice");
    const ws = await TestClient.login(`${t.wsUrl()}?token=${alice}`, "alice");
    const m = await ws.say("alice", "bob", "mine");
    ws.close();
    const post = async (path: string, token?: string) => {
      const res = await fetch(`${t.httpUrl()}${path}`, { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, msg: (await res.json()).msg as string };
    };
    expect((await post(`/chat/message/${m.msgId}/recall`)).status).toBe(401);
    expect(await post(`/chat/message/${m.msgId}/recall?userId=bob`, alice)).toEqual({ status: 403, msg: "you may only recall, edit or delete as yourself" });
    expect((await post(`/chat/message/${m.msgId}/recall`, await mintToken(SECRET, "bob"))).status).toBe(403); // not the sender
    expect((await post(`/chat/message/${m.msgId}/recall`, alice)).status).toBe(200);
  });
});
