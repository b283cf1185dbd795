// The features suite (capabilities, presence, typing, conversations) against a standalone instance.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../lib/transport/auth.ts";
import { describeFeatures, FEATURE_ENV } from "./support/feature-behaviour.ts";
import { standaloneTarget, type Target } from "./support/target.ts";

describeFeatures("standalone features", () => standaloneTarget(FEATURE_ENV));

describe("with AUTH_SECRET set", () => {
  const SECRET = "test-secret-0123456789abcdef";
  let t: Target;
  beforeAll(async () => {
    t = await standaloneTarget({ ...FEATURE_ENV, AUTH_SECRET: SECRET });
  });
  afterAll(() => t.stop());
  const get = async (path: string, token?: string) => {
    const res = await fetch(`${t.httpUrl()}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: await res.json() };
  };

  test("the conversation list is the caller's own only; the presence query needs a token", async () => {
    const alice = await mintToken(SECRET, "alice");
    expect((await get("/chat/conversations?userId=alice", alice)).status).toBe(200);
    expect((await get("/chat/conversations", alice)).body.data.records).toBe(0); // userId defaults to the caller
    const other = await get("/chat/conversations?userId=bob", alice);
    expect(other.status).toBe(403);
    expect(other.body.msg).toContain("your own");
    expect((await get("/chat/conversations?userId=alice")).status).toBe(401);
    expect((await get("/chat/presence?userIds=bob")).status).toBe(401);
    expect((await get("/chat/presence?userIds=bob", alice)).body.data).toEqual([{ userId: "bob", online: false, lastSeen: null }]);
  });
});
