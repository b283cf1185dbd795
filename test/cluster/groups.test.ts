// Group chat and system broadcast on a real 3-instance cluster.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { TestClient } from "../support/ws-client.ts";
import { REDIS_DB } from "../support/services.ts";

const ADMIN = "admin-token-0123456789";

describe("groups and broadcast across three instances", () => {
  let c: Cluster;
  const clients: TestClient[] = [];
  const login = async (i: number, user: string, extra = {}) => {
    const cl = await TestClient.login(c.wsUrl(i % 3), user, extra);
    clients.push(cl);
    return cl;
  };
  const api = async (i: number, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${c.httpUrl(i)}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const busPublished = async (i: number) => {
    const text = await (await fetch(`${c.httpUrl(i)}/metrics`)).text();
    return [...text.matchAll(/^im_bus_published_total\{mode="(\w+)"\} (\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
  };

  beforeAll(async () => {
    c = await startCluster({ size: 3, redisDb: REDIS_DB.groups, env: { ADMIN_TOKEN: ADMIN } });
  }, 60_000);
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await c?.stop();
  }, 60_000);

  let groupId = "";
  test("a group is created with its owner and members, and listed for each member", async () => {
    const r = await api(0, "/chat/group/create", { name: "Team", ownerId: "g-owner", members: ["g-a", "g-b", "g-c"] });
    expect(r.status).toBe(200);
    groupId = r.body.data.groupId;
    expect(groupId).toMatch(/^group:\d+$/);
    expect(r.body.data.members).toEqual(["g-a", "g-b", "g-c", "g-owner"]);
    const list = await api(1, "/chat/group/list?userId=g-b");
    expect(list.body.data.map((g: any) => g.groupId)).toEqual([groupId]);
    expect((await api(2, "/chat/group/nope/members")).status).toBe(400);
    expect((await api(2, "/chat/group/group:123/members")).status).toBe(404);
  });

  test("a group message reaches every connection of every member on any instance, once per holding instance on the bus", async () => {
    const owner = await login(0, "g-owner");
    const owner2 = await login(1, "g-owner"); // the sender's other device
    const a = await login(0, "g-a");
    const b = await login(1, "g-b");
    const cc = await login(2, "g-c");
    const cc2 = await login(2, "g-c");
    const outsider = await login(1, "g-x");
    const before = await busPublished(0);
    const ack = await owner.say("g-owner", groupId, "hello team", { communicationType: 2 });
    for (const cl of [owner2, a, b, cc, cc2]) {
      const f = await cl.nextMessage();
      expect(f.chatMsg).toMatchObject({ senderId: "g-owner", receiverId: groupId, msg: "hello team", msgId: ack.msgId, communicationType: 2 });
      expect(f.to).toBeUndefined(); // the bus envelope's member list is not sent to clients
    }
    await owner.expectNothing(200, (f) => f.chatMsg);
    await outsider.expectNothing(200, (f) => f.chatMsg);
    // One publish for the message: the direct exchange carries one copy to each of instances 1 and 2.
    expect((await busPublished(0)) - before).toBe(1);
    const unread = await api(2, "/chat/getMyUnReadCounts?myId=g-c");
    expect(await eventually(async () => (await api(2, "/chat/getMyUnReadCounts?myId=g-c")).body.data[groupId] === 1, 2000)).toBe(true);
    expect(unread.status).toBe(200);
  });

  test("a non-member is refused with FORBIDDEN and nothing is delivered", async () => {
    const x = await login(0, "g-y");
    const a = await login(1, "g-a");
    x.send({ chatMsg: { senderId: "g-y", receiverId: groupId, msg: "let me in", msgType: 1, communicationType: 2 } });
    expect((await x.next((f) => f.error)).error.code).toBe("FORBIDDEN");
    await a.expectNothing(300, (f) => f.chatMsg);
  });

  test("membership changes apply to the very next message on every instance", async () => {
    const owner = await login(0, "g-owner");
    const d = await login(2, "g-d");
    const b = await login(1, "g-b");
    expect((await api(1, `/chat/group/${encodeURIComponent(groupId)}/members/add`, { userIds: ["g-d"] })).status).toBe(200);
    await owner.say("g-owner", groupId, "welcome d", { communicationType: 2 });
    expect((await d.nextMessage()).chatMsg.msg).toBe("welcome d");
    expect((await api(2, `/chat/group/${encodeURIComponent(groupId)}/members/remove`, { userIds: ["g-b"] })).status).toBe(200);
    await b.next((f) => f.chatMsg?.msg === "welcome d");
    await owner.say("g-owner", groupId, "b is gone", { communicationType: 2 });
    expect((await d.nextMessage()).chatMsg.msg).toBe("b is gone");
    await b.expectNothing(300, (f) => f.chatMsg);
    b.send({ chatMsg: { senderId: "g-b", receiverId: groupId, msg: "still here?", msgType: 1, communicationType: 2 } });
    expect((await b.next((f) => f.error)).error.code).toBe("FORBIDDEN");
  });

  test("group history is served from any instance and a member's replay includes the group's messages", async () => {
    const h = await api(2, `/chat/list/g-a/${encodeURIComponent(groupId)}?pageSize=50`);
    expect(h.body.data.rows.map((r: any) => r.msg)).toEqual(["hello team", "welcome d", "b is gone"]);
    const a = await TestClient.open(c.wsUrl(2));
    clients.push(a);
    a.send({ chatMsg: { senderId: "g-a", msgType: 0, msgId: h.body.data.rows[0].msgId, clientMsgId: "r" } });
    await a.next((f) => f.ack?.clientMsgId === "r");
    expect(a.frames.filter((f) => f.chatMsg).map((f) => f.chatMsg.msg)).toEqual(["welcome d", "b is gone"]);
  });

  test("a member's SIGNED of a group message tells the sender; a non-member may not sign", async () => {
    const owner = await login(0, "g-owner");
    const d = await login(1, "g-d");
    const { msgId } = await owner.say("g-owner", groupId, "sign this", { communicationType: 2 });
    await d.nextMessage();
    d.send({ chatMsg: { msgType: 8, msgId } });
    expect((await owner.nextMessage((f) => f.chatMsg.msgType === 8)).chatMsg).toEqual({ msgType: 8, msgId, senderId: "g-d", receiverId: "g-owner" });
    const x = await login(2, "g-x2");
    x.send({ chatMsg: { msgType: 8, msgId } });
    expect((await x.next((f) => f.error)).error.code).toBe("FORBIDDEN");
  });

  test("the admin's broadcast reaches connections on every instance and is stored as the system's", async () => {
    const users = [await login(0, "bc-0"), await login(1, "bc-1"), await login(2, "bc-2")];
    expect((await api(1, "/chat/broadcast", { msg: "maintenance at 22:00" })).status).toBe(401);
    const r = await api(1, "/chat/broadcast", { msg: "maintenance at 22:00" }, { authorization: `Bearer ${ADMIN}` });
    expect(r.status).toBe(200);
    for (const u of users) {
      expect((await u.nextMessage((f) => f.chatMsg.senderId === "system")).chatMsg).toMatchObject({ senderId: "system", receiverId: "*", msg: "maintenance at 22:00", msgId: r.body.data.msgId });
    }
    const h = await api(0, "/chat/list/bc-0/system");
    expect(h.body.data.rows.map((m: any) => m.msgId)).toContain(r.body.data.msgId);
  });
});
