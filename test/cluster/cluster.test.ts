// Cluster mode against real ZooKeeper, Redis and RabbitMQ with instances as separate processes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PORT_KEY } from "../../lib/adapters/redis/ports.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { eventually } from "../support/wait.ts";
import { http } from "../support/target.ts";
import { TestClient } from "../support/ws-client.ts";
import { REDIS_DB } from "../support/services.ts";

const parse = (list: Array<{ data: string }>) => list.map((n) => JSON.parse(n.data));
const countsByPort = async (c: Cluster) => Object.fromEntries(parse(await c.serverList()).map((n) => [n.port, n.onlineCounts]));

describe("a 3-instance cluster", () => {
  let c: Cluster;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    c = await startCluster({ size: 3, redisDb: REDIS_DB.cluster, env: { ZK_SESSION_TIMEOUT_MS: "4000" } });
  }, 60_000);
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await c?.stop();
  }, 60_000);
  const login = async (i: number, user: string) => {
    const cl = await TestClient.login(c.wsUrl(i), user);
    clients.push(cl);
    return cl;
  };

  test("each instance owns one im- znode whose data is exactly {ip, port, onlineCounts}", async () => {
    const list = await c.serverList();
    expect(list).toHaveLength(3);
    for (const n of list) expect(n.name).toMatch(/^im-\d{10}$/);
    const ports = c.nodes.map((n) => n.port).sort();
    expect(list.map((n) => n.data).sort()).toEqual(ports.map((p) => `{"ip":"127.0.0.1","port":${p},"onlineCounts":0}`).sort());
  });

  test("netty_port holds exactly the ports in use, each allocated PORT_STEP apart", async () => {
    const hash = await c.redis.hgetall(PORT_KEY);
    expect(Object.keys(hash).map(Number).sort()).toEqual(c.nodes.map((n) => n.port).sort());
    expect(Object.values(hash).every((v) => v === "0")).toBe(true);
    const base = Number(c.baseEnv.PORT_BASE);
    expect(c.nodes.map((n) => n.port)).toEqual([base, base + 1, base + 2]);
  });

  test("onlineCounts in ZooKeeper follow connects, duplicate CONNECT_INIT, closes and abrupt drops within 1 s", async () => {
    const port0 = c.nodes[0].port;
    const a = await login(0, "oc-a");
    const b = await login(0, "oc-b");
    await a.init("oc-a"); // duplicate: not counted again
    a.send("{bad json"); // an error frame is not a disconnect
    await a.next((f) => f.error);
    expect(await eventually(async () => (await countsByPort(c))[port0] === 2, 1000)).toBe(true);
    b.close();
    expect(await eventually(async () => (await countsByPort(c))[port0] === 1, 1000)).toBe(true);
    const script = `const ws = new WebSocket(${JSON.stringify(c.wsUrl(0))}); ws.onopen = () => ws.send(JSON.stringify({chatMsg:{senderId:"oc-k",msgType:0,clientMsgId:"k"}})); ws.onmessage = () => console.log("bound");`;
    const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe" });
    await child.stdout.getReader().read();
    expect(await eventually(async () => (await countsByPort(c))[port0] === 2, 1000)).toBe(true);
    child.kill("SIGKILL");
    expect(await eventually(async () => (await countsByPort(c))[port0] === 1, 2000)).toBe(true);
    a.close();
    expect(await eventually(async () => (await countsByPort(c))[port0] === 0, 1000)).toBe(true);
  });

  test("getNettyOnlineInfo from any instance returns one with the fewest connections and spreads ties", async () => {
    const busy = [await login(0, "lb-1"), await login(0, "lb-2"), await login(1, "lb-3")];
    const answer = (i: number) => http(`${c.httpUrl(i)}/chat/getNettyOnlineInfo`).then((r) => r.body.data);
    const idle = { ip: "127.0.0.1", port: c.nodes[2].port, onlineCounts: 0 };
    // Each instance's watched view catches up with the counts.
    for (let i = 0; i < 3; i++) expect(await eventually(async () => Bun.deepEquals(await answer(i), idle), 2000)).toBe(true);
    busy.push(await login(2, "lb-4")); // now 2, 1, 1: ties between instances 1 and 2
    expect(await eventually(async () => (await countsByPort(c))[c.nodes[2].port] === 1, 2000)).toBe(true);
    expect(await eventually(async () => (await answer(0)).onlineCounts === 1, 2000)).toBe(true);
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) seen.add((await http(`${c.httpUrl(0)}/getNettyOnlineInfo`, "GET")).body.data.port);
    expect([...seen].sort()).toEqual([c.nodes[1].port, c.nodes[2].port].sort());
    for (const b of busy) b.close();
  });

  test("routes lost from Redis while connected (FLUSHDB) are rebuilt and direct delivery resumes within seconds", async () => {
    const a = await login(0, "fl-a");
    const b = await login(1, "fl-b");
    await c.redis.flushdb();
    const ports = c.nodes.map((n) => String(n.port)).sort();
    const rebuilt = await eventually(async () => Object.keys(await c.redis.hgetall(PORT_KEY)).sort().join() === ports.join(), 10_000, 200);
    expect(rebuilt).toBe(true);
    await a.say("fl-a", "fl-b", "after the flush");
    expect((await b.nextMessage()).chatMsg.msg).toBe("after the flush");
  }, 20_000);

  test("health names every dependency", async () => {
    const h = await http(`${c.httpUrl(1)}/health`, "GET");
    expect(h.status).toBe(200);
    expect(h.body.checks).toEqual({ zookeeper: "ok", redis: "ok", rabbitmq: "ok", store: "ok" });
  });

  test("an instance killed with SIGKILL leaves the cluster: znode and port gone, never routed to, chat goes on", async () => {
    const victim = c.nodes[2];
    const a = await login(0, "k-a");
    const b = await login(1, "k-b");
    victim.proc.kill("SIGKILL");
    const killedAt = Date.now();
    const gone = await eventually(async () => {
      const ports = parse(await c.serverList()).map((n) => n.port);
      const hash = await c.redis.hgetall(PORT_KEY);
      return !ports.includes(victim.port) && !(String(victim.port) in hash);
    }, 4000 + 5000, 100);
    expect(gone).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(9000);
    await Bun.sleep(1000);
    for (let i = 0; i < 20; i++) {
      expect((await http(`${c.httpUrl(i % 2)}/getNettyOnlineInfo`)).body.data.port).not.toBe(victim.port);
    }
    await a.say("k-a", "k-b", "after the kill");
    expect((await b.nextMessage()).chatMsg.msg).toBe("after the kill");
    c.nodes.splice(2, 1);
  }, 20_000);
});

describe("simultaneous starts", () => {
  test("four instances started at the same instant get four different ports", async () => {
    const c = await startCluster({ size: 0, redisDb: REDIS_DB.clusterStarts, env: { LOG_LEVEL: "info" } });
    let step = "start";
    try {
      await Promise.all([c.start(), c.start(), c.start(), c.start()]);
      step = "ports";
      const ports = c.nodes.map((n) => n.port);
      expect(new Set(ports).size).toBe(4);
      expect(Object.keys(await c.redis.hgetall(PORT_KEY)).map(Number).sort()).toEqual([...ports].sort());
      expect(await c.serverList()).toHaveLength(4);
      // A clean stop (SIGTERM) exits 0 and removes the instance's port and znode.
      step = "stop";
      for (const n of c.nodes) n.proc.kill("SIGTERM");
      expect(await Promise.all(c.nodes.map((n) => n.proc.exited))).toEqual([0, 0, 0, 0]);
      expect(await c.redis.hlen(PORT_KEY)).toBe(0);
      expect(await c.serverList()).toEqual([]);
    } catch (err) {
      // What each instance said, so that a failure seen once (CI) can be read afterwards.
      console.error(`failed at ${step}; hash ${JSON.stringify(await c.redis.hgetall(PORT_KEY))}; list ${JSON.stringify(await c.serverList())}`);
      for (const n of c.nodes) console.error(`--- instance ${n.port}:\n${n.log.join("\n")}`);
      throw err;
    } finally {
      await c.stop();
    }
  }, 60_000);
});
