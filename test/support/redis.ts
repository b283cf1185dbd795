// Redis for tests: a connected client on a logical database of its own, with a clear error when Redis is down.
import { afterAll, beforeAll } from "bun:test";
import Redis from "ioredis";

/** Connects to `url` (e.g. `redis://127.0.0.1:6379/11`) without retrying; throws naming the fix when unreachable. */
export async function connectTestRedis(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new Error(`Redis is not reachable at ${url} (${(err as Error).message}); start it with scripts/services.sh redis`);
  }
  return client;
}

/**
 * Registers hooks for a test file that owns logical database `url`: connect and flush before the
 * file, flush and disconnect after it. Returns a getter for the client.
 */
export function useFlushedRedis(url: string): () => Redis {
  let redis: Redis | undefined;
  beforeAll(async () => {
    redis = await connectTestRedis(url);
    await redis.flushdb();
  });
  afterAll(async () => {
    await redis?.flushdb();
    redis?.disconnect();
  });
  return () => redis!;
}
