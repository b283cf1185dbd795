// Configuration: the only reader of the environment. A valibot schema of SPEC §3; fails fast naming the variable.
import * as v from "valibot";
import { networkInterfaces } from "node:os";

const intIn = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, `must be a whole number from ${min} to ${max}`),
    v.transform(Number),
    v.number(),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
const optionalUrl = (schemes: RegExp, example: string) =>
  v.optional(v.pipe(v.string(), v.trim(), v.regex(schemes, `must look like ${example}`)));

const EnvSchema = v.object({
  HOST_IP: v.optional(v.pipe(v.string(), v.trim(), v.ip("must be an IP address"))),
  BIND_HOST: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty")), "0.0.0.0"),
  PORT: v.optional(intIn(0, 65535)),
  PORT_BASE: v.optional(intIn(1, 65535), "875"),
  PORT_STEP: v.optional(intIn(1, 1000), "10"),
  ZK_CONNECT: v.optional(v.pipe(v.string(), v.trim(), v.regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*(\/\S*)?$/, "must look like 127.0.0.1:2181"))),
  ZK_NAMESPACE: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]+$/, "must be letters, digits, '.', '_' or '-'")), "wechat"),
  ZK_SESSION_TIMEOUT_MS: v.optional(intIn(1000, 600000), "3000"),
  REDIS_URL: optionalUrl(/^rediss?:\/\/\S+$/, "redis://127.0.0.1:6379"),
  REDIS_TIMEOUT_MS: v.optional(intIn(100, 60_000), "1000"),
  AMQP_HEARTBEAT_S: v.optional(intIn(1, 600), "1"),
  STORE_TIMEOUT_MS: v.optional(intIn(100, 600_000), "3000"),
  AMQP_URL: optionalUrl(/^amqps?:\/\/\S+$/, "amqp://guest:guest@127.0.0.1:5672"),
  DATABASE_URL: v.optional(
    v.pipe(v.string(), v.trim(), v.regex(/^(sqlite:\/\/.+|sqlite::memory:|postgres(ql)?:\/\/\S+)$/, "must be sqlite://path.db, sqlite:///abs/path.db or postgres://…")),
    "sqlite://data/chat.db",
  ),
  ROUTING: v.optional(v.picklist(["direct", "fanout"], "must be direct or fanout"), "direct"),
  AUTH_SECRET: v.optional(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters"))),
  IDLE_TIMEOUT_S: v.optional(intIn(1, 960), "60"),
  MAX_FRAME_BYTES: v.optional(intIn(256, 16 * 1024 * 1024), "65536"),
  SEND_BUFFER_MAX_BYTES: v.optional(intIn(65536, 1024 * 1024 * 1024), String(4 * 1024 * 1024)),
  SHUTDOWN_TIMEOUT_MS: v.optional(intIn(100, 600000), "5000"),
  REPLAY_MAX: v.optional(intIn(0, 1000000), "10000"),
  CONNECT_RATE_PER_IP: v.optional(intIn(0, 1000000), "0"),
  ALLOWED_ORIGINS: v.optional(
    v.pipe(v.string(), v.trim(), v.regex(/^(\*|https?:\/\/[^\s,]+(\s*,\s*https?:\/\/[^\s,]+)*)$/, "must be * or a comma-separated list of origins like https://chat.example.com")),
    "*",
  ),
  FRAME_RATE_PER_CONN: v.optional(intIn(0, 1000000), "100"),
  MAX_CONNS_PER_USER: v.optional(intIn(1, 100000), "32"),
  MAX_CONNS: v.optional(intIn(1, 100_000_000)),
  MAX_MSG_CHARS: v.optional(intIn(1, 16 * 1024 * 1024), "16384"),
  PERSIST_FEED: v.optional(v.picklist(["on", "off"], "must be on or off"), "off"),
  ROUTE_CACHE_MS: v.optional(intIn(0, 10_000), "1000"),
  PRESENCE_GRACE_MS: v.optional(intIn(0, 60_000), "2500"),
  PRESENCE_SUBSCRIPTIONS_MAX: v.optional(intIn(1, 100_000), "256"),
  PRESENCE_QUERY_MAX: v.optional(intIn(1, 10_000), "100"),
  TYPING_RATE_PER_CONN: v.optional(intIn(1, 1000), "2"),
  EDIT_WINDOW_MS: v.optional(intIn(1000, 604_800_000), "120000"),
  BENCH_SEED_STYLE_COUNTS: v.optional(v.picklist(["0", "1"], "must be 0 or 1"), "0"),
  ADMIN_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters"))),
  WEBHOOK_URL: v.optional(
    v.pipe(v.string(), v.maxLength(2048, "must be at most 2048 characters"), v.regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, "must be an http:// or https:// URL")),
  ),
  WEBHOOK_SECRET: v.optional(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters"))),
  WEBHOOK_TIMEOUT_MS: v.optional(intIn(100, 60_000), "5000"),
  WEBHOOK_QUEUE_MAX: v.optional(intIn(1, 10_000_000), "10000"),
  WEBHOOK_RETRY_BASE_MS: v.optional(intIn(10, 600_000), "1000"),
  LOG_LEVEL: v.optional(v.picklist(["debug", "info", "warn", "error", "silent"], "must be debug, info, warn, error or silent"), "info"),
});

export type Mode = "standalone" | "cluster";

export interface Config {
  mode: Mode;
  hostIp: string;
  bindHost: string;
  /** Fixed port, or undefined: standalone takes portBase, cluster allocates from Redis. */
  port: number | undefined;
  portBase: number;
  portStep: number;
  zkConnect?: string;
  zkNamespace: string;
  zkSessionTimeoutMs: number;
  /** Bound on every Redis command, and the silence after which the connection is dropped and made again. */
  redisTimeoutMs: number;
  /** AMQP heartbeat (seconds): a silent broker is seen after two missed ones. */
  amqpHeartbeatS: number;
  /** A chat message's store write unanswered this long: the sender gets UNAVAILABLE and resends. */
  storeTimeoutMs: number;
  redisUrl?: string;
  amqpUrl?: string;
  databaseUrl: string;
  routing: "direct" | "fanout";
  authSecret?: string;
  idleTimeoutS: number;
  maxFrameBytes: number;
  /** Bytes queued for a client that does not read before it is disconnected (slow consumer). */
  sendBufferMaxBytes: number;
  shutdownTimeoutMs: number;
  replayMax: number;
  connectRatePerIp: number;
  /** Origins allowed to open WebSockets and call the API from a browser; ["*"] allows any. */
  allowedOrigins: string[];
  /** Frames per second per connection (bursts of twice that); 0: no limit. */
  frameRatePerConn: number;
  /** Connections one user may hold on one instance. */
  maxConnsPerUser: number;
  /** Connections this instance holds before refusing upgrades; undefined: the open-files limit minus a reserve. */
  maxConns: number | undefined;
  /** Longest `msg` in characters. */
  maxMsgChars: number;
  /** Bearer token of the admin routes (system broadcast); unset: they are disabled. */
  adminToken?: string;
  /** POSTs to the app's backend when messages are stored and receivers are offline (lib/adapters/webhooks.ts). */
  webhook?: { url: string; secret: string; timeoutMs: number; queueMax: number; retryBaseMs: number };
  /** Publish every stored ChatMsg on pitayafruits_exchange, the seed's persistence feed (cluster). */
  persistFeed: boolean;
  /** Lifetime of route lookups cached for new messages, ms (cluster, direct routing); 0: none. */
  routeCacheMs: number;
  /** How long a user whose last device left stays online before it is announced offline (ms). */
  presenceGraceMs: number;
  /** Users one connection may watch the presence of. */
  presenceSubscriptionsMax: number;
  /** Most users one HTTP presence query may name. */
  presenceQueryMax: number;
  /** Typing frames per second per connection (bursts of twice that). */
  typingRatePerConn: number;
  /** How long after sending its sender may recall or edit a message (ms). */
  editWindowMs: number;
  /** Benchmark-only: write onlineCounts the seed's way, one lock acquisition per change. */
  benchSeedStyleCounts: boolean;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

/** A configuration error a person can act on; `server.ts` prints it and exits 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

function firstExternalIpv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/** Reads and validates the environment (by default `Bun.env`). Throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = Bun.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.entries)) {
    const value = env[key];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const parsed = v.safeParse(EnvSchema, raw);
  if (!parsed.success) {
    const lines = parsed.issues.map((issue) => {
      const name = issue.path?.[0]?.key ?? "environment";
      return `${String(name)}=${JSON.stringify(raw[String(name)] ?? "")}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.output;
  if (e.WEBHOOK_URL && !e.WEBHOOK_SECRET) {
    throw new ConfigError("WEBHOOK_URL is set but WEBHOOK_SECRET is not: webhooks are signed with it (at least 16 characters), so that the backend can tell them from forgeries.");
  }
  const clusterVars = { ZK_CONNECT: e.ZK_CONNECT, REDIS_URL: e.REDIS_URL, AMQP_URL: e.AMQP_URL };
  const set = Object.entries(clusterVars).filter(([, val]) => val !== undefined).map(([k]) => k);
  if (set.length > 0 && set.length < 3) {
    const missing = Object.keys(clusterVars).filter((k) => !set.includes(k));
    throw new ConfigError(
      `cluster mode needs ZK_CONNECT, REDIS_URL and AMQP_URL together: ${set.join(", ")} ${set.length === 1 ? "is" : "are"} set but ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing. Set ${missing.join(" and ")}, or unset ${set.join(" and ")} for standalone mode.`,
    );
  }
  return {
    mode: set.length === 3 ? "cluster" : "standalone",
    hostIp: e.HOST_IP ?? firstExternalIpv4(),
    bindHost: e.BIND_HOST,
    port: e.PORT,
    portBase: e.PORT_BASE,
    portStep: e.PORT_STEP,
    zkConnect: e.ZK_CONNECT,
    zkNamespace: e.ZK_NAMESPACE,
    zkSessionTimeoutMs: e.ZK_SESSION_TIMEOUT_MS,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    amqpHeartbeatS: e.AMQP_HEARTBEAT_S,
    storeTimeoutMs: e.STORE_TIMEOUT_MS,
    redisUrl: e.REDIS_URL,
    amqpUrl: e.AMQP_URL,
    databaseUrl: e.DATABASE_URL,
    routing: e.ROUTING,
    authSecret: e.AUTH_SECRET,
    idleTimeoutS: e.IDLE_TIMEOUT_S,
    maxFrameBytes: e.MAX_FRAME_BYTES,
    sendBufferMaxBytes: e.SEND_BUFFER_MAX_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    replayMax: e.REPLAY_MAX,
    connectRatePerIp: e.CONNECT_RATE_PER_IP,
    allowedOrigins: e.ALLOWED_ORIGINS.split(",").map((o) => o.trim()),
    frameRatePerConn: e.FRAME_RATE_PER_CONN,
    maxConnsPerUser: e.MAX_CONNS_PER_USER,
    maxConns: e.MAX_CONNS,
    maxMsgChars: e.MAX_MSG_CHARS,
    adminToken: e.ADMIN_TOKEN,
    webhook: e.WEBHOOK_URL
      ? { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET!, timeoutMs: e.WEBHOOK_TIMEOUT_MS, queueMax: e.WEBHOOK_QUEUE_MAX, retryBaseMs: e.WEBHOOK_RETRY_BASE_MS }
      : undefined,
    persistFeed: e.PERSIST_FEED === "on",
    routeCacheMs: e.ROUTE_CACHE_MS,
    presenceGraceMs: e.PRESENCE_GRACE_MS,
    presenceSubscriptionsMax: e.PRESENCE_SUBSCRIPTIONS_MAX,
    presenceQueryMax: e.PRESENCE_QUERY_MAX,
    typingRatePerConn: e.TYPING_RATE_PER_CONN,
    editWindowMs: e.EDIT_WINDOW_MS,
    benchSeedStyleCounts: e.BENCH_SEED_STYLE_COUNTS === "1",
    logLevel: e.LOG_LEVEL,
  };
}

/**
 * Ports below 1024 need root (or CAP_NET_BIND_SERVICE). Checked before binding so the error
 * says how to pick another port instead of Bun's bare EACCES.
 */
export function checkPrivilegedPort(port: number, isRoot = process.getuid?.() === 0): void {
  if (port > 0 && port < 1024 && !isRoot) {
    throw new ConfigError(
      `port ${port} is below 1024 and needs root. Pick another port, e.g. PORT=8875 (standalone) or PORT_BASE=8875 (cluster), or run as root.`,
    );
  }
}
