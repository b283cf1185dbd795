// Port allocation in `netty_port` against a real Redis (its own logical database, flushed first).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type Redis from "ioredis";
import { connectTestRedis } from "../support/redis.ts";
import { allocateAndBind, allocatePort, leasePort, PORT_KEY, releasePort } from "../../lib/adapters/redis/ports.ts";
import { freePort } from "../support/ports.ts";
import { REDIS_DB, redisUrl } from "../support/services.ts";

// `netty_port` has a fixed name, so this file owns a whole logical database.
const REDIS_URL = redisUrl(REDIS_DB.ports);
const opts = { base: 875, step: 10 };
let redis: Redis;

beforeAll(async () => {
  redis = await connectTestRedis(REDIS_URL);
});
beforeEach(async () => {
  await redis.flushdb();
});
afterAll(async () => {
  await redis?.flushdb();
  redis?.disconnect();
});

describe("allocatePort", () => {
  test("an empty netty_port hash gives the base port and records it with value 0", async () => {
    expect(await allocatePort(redis, opts)).toBe(875);
    expect(await redis.hgetall(PORT_KEY)).toEqual({ "875": "0" });
  });

  test("later allocations take the largest port in use plus the step", async () => {
    await redis.hset(PORT_KEY, "905", "0", "885", "0");
    expect(await allocatePort(redis, opts)).toBe(915);
    expect(await allocatePort(redis, opts)).toBe(925);
  });

  test("four processes allocating at the same instant get four different ports", async () => {
    const startAt = Date.now() + 1500;
    const script = `
      import Redis from "ioredis";
      import { allocatePort } from ${JSON.stringify(`${import.meta.dir}/../../lib/adapters/redis/ports.ts`)};
      const redis = new Redis(${JSON.stringify(REDIS_URL)});
      await redis.ping();
      await Bun.sleep(Math.max(0, ${startAt} - Date.now()));
      console.log(await allocatePort(redis, { base: 875, step: 10 }));
      redis.disconnect();
    `;
    const procs = Array.from({ length: 4 }, () => Bun.spawn(["bun", "-e", script], { cwd: `${import.meta.dir}/../..`, stderr: "pipe" }));
    const ports = await Promise.all(
      procs.map(async (p) => {
        const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
        if (code !== 0) throw new Error(`allocating process failed: ${err}`);
        return Number(out.trim());
      }),
    );
    expect(ports.toSorted((a, b) => a - b)).toEqual([875, 885, 895, 905]);
  }, 20_000);

  test("eight connections allocating concurrently in one process never share a port", async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectTestRedis(REDIS_URL)));
    try {
      const ports = await Promise.all(clients.map((c) => allocatePort(c, opts)));
      expect(new Set(ports).size).toBe(8);
      expect(Math.max(...ports)).toBe(875 + 7 * 10);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  test("a port above 65535 is refused with a message naming the hash", async () => {
    await redis.hset(PORT_KEY, "65530", "0");
    await expect(allocatePort(redis, opts)).rejects.toThrow(/netty_port/);
  });
});

describe("releasePort", () => {
  test("a released port leaves the hash and the maximum falls back", async () => {
    await allocatePort(redis, opts);
    const second = await allocatePort(redis, opts);
    await releasePort(redis, second);
    expect(await redis.hkeys(PORT_KEY)).toEqual(["875"]);
    expect(await allocatePort(redis, opts)).toBe(885);
  });
});

describe("allocateAndBind", () => {
  test("a port that cannot be bound is skipped and released after the next port binds", async () => {
    const blocker = Bun.serve({ port: 0, fetch: () => new Response("busy") });
    try {
      const busy = blocker.port!;
      const { port, bound } = await allocateAndBind(redis, {
        base: busy,
        step: 1,
        bind: (p) => Bun.serve({ port: p, hostname: "0.0.0.0", fetch: () => new Response("ok") }),
      });
      try {
        expect(port).toBeGreaterThan(busy);
        expect(await redis.hkeys(PORT_KEY)).toEqual([String(port)]);
      } finally {
        bound.stop(true);
      }
    } finally {
      blocker.stop(true);
    }
  });

  test("an error that another port cannot fix is thrown at once and its port released", async () => {
    const denied = Object.assign(new Error("permission denied"), { code: "EACCES" });
    let attempts = 0;
    const bind = () => {
      attempts++;
      throw denied;
    };
    await expect(allocateAndBind(redis, { ...opts, bind })).rejects.toBe(denied);
    expect(attempts).toBe(1);
    expect(await redis.hlen(PORT_KEY)).toBe(0);
  });
});

describe("leasePort", () => {
  test("the port stays bound from its lease until unhold (the server's bind), so no connection made meanwhile can take it", async () => {
    const base = (await freePort()) - 1; // base + step is free now
    await redis.hset(PORT_KEY, String(base), "0");
    const lease = await leasePort(redis, "127.0.0.1", undefined, { base, step: 1 });
    expect(lease.port).toBe(base + 1);
    expect(() => Bun.listen({ hostname: "127.0.0.1", port: lease.port, socket: { data() {} } })).toThrow(); // held
    lease.unhold!();
    const server = Bun.serve({ hostname: "127.0.0.1", port: lease.port, fetch: () => new Response("ok") });
    expect(await (await fetch(`http://127.0.0.1:${lease.port}/`)).text()).toBe("ok");
    server.stop(true);
    await lease.release();
    expect(await redis.hexists(PORT_KEY, String(lease.port))).toBe(0);
  });

  test("a fixed PORT is held the same way, and release lets go of it if the server never bound it", async () => {
    const port = await freePort();
    const lease = await leasePort(redis, "127.0.0.1", port, opts);
    expect(() => Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } })).toThrow();
    await lease.release();
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
  });
});
