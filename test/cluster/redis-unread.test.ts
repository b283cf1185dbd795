// Unread counters against a real Redis, in the seed lineage's `chat_msg_list:<receiverId>` hashes.
import { describe, expect, test } from "bun:test";
import { useFlushedRedis } from "../support/redis.ts";
import { createRedisUnread } from "../../lib/adapters/redis/unread.ts";
import { REDIS_DB, redisUrl } from "../support/services.ts";

const REDIS_URL = redisUrl(REDIS_DB.unread);
const useRedis = useFlushedRedis(REDIS_URL);
const unread = () => createRedisUnread(useRedis());


describe("redis unread counters", () => {
  test("increments are counted per sender in chat_msg_list:<receiverId> and read back as numbers", async () => {
    const counters = unread();
    await counters.increment({ receiverId: "r1", senderId: "s1" });
    await counters.increment({ receiverId: "r1", senderId: "s1" });
    await counters.increment({ receiverId: "r1", senderId: "s2" });
    expect(await counters.get("r1")).toEqual({ s1: 2, s2: 1 });
    expect(await useRedis().hgetall("chat_msg_list:r1")).toEqual({ s1: "2", s2: "1" });
  });

  test("a receiver without messages has no counters", async () => {
    expect(await unread().get("nobody")).toEqual({});
  });

  test("clear resets one sender to 0 as the seed does and leaves the others", async () => {
    const counters = unread();
    await counters.increment({ receiverId: "r2", senderId: "s1" });
    await counters.increment({ receiverId: "r2", senderId: "s2" });
    await counters.clear("r2", "s1");
    expect(await counters.get("r2")).toEqual({ s1: 0, s2: 1 });
    await counters.increment({ receiverId: "r2", senderId: "s1" });
    expect(await counters.get("r2")).toEqual({ s1: 1, s2: 1 });
  });

  test("counts written by a seed service are read, and values that are not numbers are skipped", async () => {
    await useRedis().hset("chat_msg_list:r3", "s1", "7", "s2", "garbage");
    expect(await unread().get("r3")).toEqual({ s1: 7 });
  });

  test("concurrent increments are not lost", async () => {
    const counters = unread();
    await Promise.all(Array.from({ length: 50 }, () => counters.increment({ receiverId: "r4", senderId: "s1" })));
    expect(await counters.get("r4")).toEqual({ s1: 50 });
  });
});
