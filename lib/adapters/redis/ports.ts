// Port bookkeeping in the seed's `netty_port` hash: atomic allocation, release, allocate-and-bind.
import type Redis from "ioredis";
import type { PortLease } from "../../core/ports.ts";
import { holdPort, type HeldPort } from "../port-probe.ts";

/** The seed's hash of ports in use: field = port, value "0". */
export const PORT_KEY = "netty_port";

/** The Redis commands this module uses. */
export type PortRedis = Pick<Redis, "eval" | "hdel" | "hset" | "hexists">;

export interface PortOptions {
  /** Port taken when the hash is empty (the seed's 875). */
  base: number;
  /** Added to the largest port in use (the seed's 10). */
  step: number;
}

// The seed's selectPort (HGETALL, max+step, HSET) run as one script, so that two instances
// starting at the same instant cannot both read the same max and take the same port.
const ALLOCATE = `
local max = nil
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local n = tonumber(field)
  if n and (max == nil or n > max) then max = n end
end
local port = tonumber(ARGV[1])
if max ~= nil then port = max + tonumber(ARGV[2]) end
if port > 65535 then
  return redis.error_reply('PORTS_EXHAUSTED next port ' .. port .. ' is above 65535')
end
redis.call('HSET', KEYS[1], tostring(port), '0')
return port
`;

/**
 * Takes a port atomically: `base` when `netty_port` is empty, otherwise its largest port + `step`,
 * and records it (value "0"). Throws when the next port would exceed 65535 (stale entries in
 * `netty_port`: remove them with HDEL or let the cleanup watcher do it).
 */
export async function allocatePort(redis: PortRedis, { base, step }: PortOptions): Promise<number> {
  if (!Number.isInteger(base) || base < 1 || base > 65535) throw new RangeError(`port base ${base} is not a port`);
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`port step ${step} must be a positive integer`);
  try {
    return Number(await redis.eval(ALLOCATE, 1, PORT_KEY, base, step));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (message.includes("PORTS_EXHAUSTED")) {
      throw new Error(`no port left in Redis hash ${PORT_KEY}: ${message.replace(/^.*PORTS_EXHAUSTED /, "")}; remove stale ports from it`);
    }
    throw err;
  }
}

/** Removes ports from `netty_port` (a clean stop, or the instance that held them is gone). */
export async function releasePort(redis: PortRedis, ...ports: number[]): Promise<void> {
  if (ports.length) await redis.hdel(PORT_KEY, ...ports.map(String));
}

export interface BindOptions<T> extends PortOptions {
  /** Binds the port, e.g. `(port) => Bun.serve({ port, ... })`; throws when it cannot. */
  bind: (port: number) => T | Promise<T>;
  /** Bind failures worth another port (default: address in use). Others are rethrown at once. */
  retryable?: (err: unknown) => boolean;
  /** Ports tried before giving up (default 20). */
  maxAttempts?: number;
}

/** True for "address already in use" errors of Node and Bun. */
export function isAddressInUse(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === "EADDRINUSE" || /in use/i.test(String(e?.message ?? ""));
}

/**
 * Allocates a port and binds it; when the bind fails (the port is taken by a process that is not
 * in `netty_port`), allocates the next one and tries again. The failed ports stay in the hash
 * until a bind succeeds: releasing one at once would make it the max again, so the next
 * allocation would hand out the same unusable port. After the successful bind they are released
 * (they are not ours); when every attempt fails, all of them are released and the last error is
 * thrown.
 */
export async function allocateAndBind<T>(redis: PortRedis, options: BindOptions<T>): Promise<{ port: number; bound: T }> {
  const retryable = options.retryable ?? isAddressInUse;
  const maxAttempts = options.maxAttempts ?? 20;
  const failed: number[] = [];
  try {
    for (;;) {
      const port = await allocatePort(redis, options);
      try {
        const bound = await options.bind(port);
        return { port, bound };
      } catch (err) {
        failed.push(port);
        if (!retryable(err) || failed.length >= maxAttempts) throw err;
      }
    }
  } finally {
    // Best effort: a port left behind only raises the next allocation by one step.
    await releasePort(redis, ...failed).catch(() => {});
  }
}

/**
 * This instance's port in `netty_port`: `fixed` (PORT) is recorded as given; otherwise one is
 * allocated, probing each with a bind on `host` and taking the next when it is in use. The port
 * stays bound until `unhold()` (just before the server binds it); `release()` removes it from the
 * hash on a clean stop.
 */
export async function leasePort(redis: PortRedis, host: string, fixed: number | undefined, options: PortOptions): Promise<PortLease & { release(): Promise<void> }> {
  let held: HeldPort;
  if (fixed !== undefined) {
    held = holdPort(host, fixed);
    await redis.hset(PORT_KEY, String(held.port), "0").catch((err) => {
      held.release();
      throw err;
    });
  } else {
    ({ bound: held } = await allocateAndBind(redis, { ...options, bind: (p) => holdPort(host, p) }));
  }
  const port = held.port;
  return {
    port,
    unhold: () => held.release(),
    renew: () => redis.hset(PORT_KEY, String(port), "0").then(() => {}),
    isHeld: async () => (await redis.hexists(PORT_KEY, String(port))) === 1,
    releaseOther: (other) => releasePort(redis, other),
    release: () => {
      held.release();
      return releasePort(redis, port);
    },
  };
}
