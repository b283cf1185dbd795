// The group read state suite against a standalone instance, and its routes with AUTH_SECRET set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../lib/transport/auth.ts";
import { describeReads } from "./support/read-behaviour.ts";
import { standaloneTarget, type Target } from "./support/target.ts";

describeReads("standalone group read state", () => standaloneTarget());

describe("group read routes with AUTH_SECRET set", () => {
  const SECRET = "test-secret-0123456789abcdef";
  let t: Target;
  beforeAll(async () => {
    t = await standaloneTarget({ AUTH_SECRET: SECRET });
  });
  afterAll(() => t.stop());
  const call = async (path: string, token: string, body?: unknown) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${t.httpUrl()}${path}`, { method: body === undefined ? "GET" : "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };

  test("the reader is the token's user: another userId is 403, none means the caller", async () => {
    const [alice, bob] = [await mintToken(SECRET, "alice"), await mintToken(SECRET, "bob")];
    const groupId = (await call("/chat/group/create", alice, { name: "g", members: ["bob"] })).body.data.groupId;
    const state = await call(`/chat/group/${groupId}/read-state`, bob);
    expect(state.status).toBe(200);
    expect(state.body.data.rows.map((r: any) => r.userId)).toEqual(["alice", "bob"]);
    const other = await call(`/chat/group/${groupId}/read-state?userId=alice`, bob);
    expect(other.status).toBe(403);
    expect(other.body.msg).toContain("as yourself");
    expect((await call(`/chat/group/${groupId}/read`, bob, { userId: "alice", msgId: "1" })).status).toBe(403);
    expect((await call(`/chat/group/${groupId}/read`, bob, { msgId: "1" })).status).toBe(404); // bob, but no message 1
    expect((await fetch(`${t.httpUrl()}/chat/group/${groupId}/read-state`)).status).toBe(401);
  });
});
