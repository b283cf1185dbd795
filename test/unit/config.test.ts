// Unit tests of lib/config.ts: SPEC §3 defaults, mode selection, validation that names the variable.
import { describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { checkPrivilegedPort, ConfigError, loadConfig } from "../../lib/config.ts";

const CLUSTER = {
  ZK_CONNECT: "127.0.0.1:2181",
  REDIS_URL: "redis://127.0.0.1:6379",
  AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
};

/** Runs `fn` and returns the ConfigError it throws; fails the test when it throws nothing or something else. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

function expectedDefaultHostIp(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

describe("loadConfig", () => {
  test("an empty environment yields the defaults of SPEC §3", () => {
    const c = loadConfig({});
    expect(c.mode).toBe("standalone");
    expect(c.hostIp).toBe(expectedDefaultHostIp());
    expect(c.bindHost).toBe("0.0.0.0");
    expect(c.port).toBeUndefined();
    expect(c.portBase).toBe(875);
    expect(c.portStep).toBe(10);
    expect(c.zkConnect).toBeUndefined();
    expect(c.zkNamespace).toBe("wechat");
    expect(c.zkSessionTimeoutMs).toBe(3000);
    expect(c.redisUrl).toBeUndefined();
    expect(c.amqpUrl).toBeUndefined();
    expect(c.databaseUrl).toBe("sqlite://data/chat.db");
    expect(c.routing).toBe("direct");
    expect(c.authSecret).toBeUndefined();
    expect(c.idleTimeoutS).toBe(60);
    expect(c.maxFrameBytes).toBe(65536);
    expect(c.shutdownTimeoutMs).toBe(5000);
    expect(c.replayMax).toBe(10000);
    expect(c.connectRatePerIp).toBe(0);
    expect(c.maxConns).toBeUndefined(); // the open-files limit decides
  });

  test("MAX_CONNS is taken as given", () => {
    expect(loadConfig({ MAX_CONNS: "5000" }).maxConns).toBe(5000);
  });

  test("numeric variables are parsed to numbers", () => {
    const c = loadConfig({ PORT: "8875", PORT_BASE: "9000", PORT_STEP: "5", IDLE_TIMEOUT_S: "30", REPLAY_MAX: "7" });
    expect(c.port).toBe(8875);
    expect(c.portBase).toBe(9000);
    expect(c.portStep).toBe(5);
    expect(c.idleTimeoutS).toBe(30);
    expect(c.replayMax).toBe(7);
  });

  test("HOST_IP, ROUTING and DATABASE_URL are taken as given when valid", () => {
    const c = loadConfig({ HOST_IP: "10.1.2.3", ROUTING: "fanout", DATABASE_URL: "postgres://im:im@db:5432/im" });
    expect(c.hostIp).toBe("10.1.2.3");
    expect(c.routing).toBe("fanout");
    expect(c.databaseUrl).toBe("postgres://im:im@db:5432/im");
    expect(loadConfig({ DATABASE_URL: "sqlite:///var/lib/im/chat.db" }).databaseUrl).toBe("sqlite:///var/lib/im/chat.db");
  });

  test("the mode is standalone when none of ZK_CONNECT, REDIS_URL, AMQP_URL is set", () => {
    expect(loadConfig({ PORT: "8875" }).mode).toBe("standalone");
  });

  test("the mode is cluster when all three of ZK_CONNECT, REDIS_URL, AMQP_URL are set", () => {
    const c = loadConfig(CLUSTER);
    expect(c.mode).toBe("cluster");
    expect(c.zkConnect).toBe(CLUSTER.ZK_CONNECT);
    expect(c.redisUrl).toBe(CLUSTER.REDIS_URL);
    expect(c.amqpUrl).toBe(CLUSTER.AMQP_URL);
  });

  const names = Object.keys(CLUSTER) as Array<keyof typeof CLUSTER>;
  for (const only of names) {
    test(`only ${only} set throws a ConfigError naming the two that are missing`, () => {
      const err = configErrorOf(() => loadConfig({ [only]: CLUSTER[only] }));
      for (const other of names.filter((n) => n !== only)) expect(err.message).toContain(other);
      expect(err.message).toMatch(/missing/);
    });
  }
  for (const absent of names) {
    test(`all but ${absent} set throws a ConfigError naming ${absent} as missing`, () => {
      const env: Record<string, string> = { ...CLUSTER };
      delete env[absent];
      const err = configErrorOf(() => loadConfig(env));
      expect(err.message).toMatch(new RegExp(`${absent} is missing`));
    });
  }

  const invalid: Array<[string, string]> = [
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT_BASE", "0"],
    ["ROUTING", "x"],
    ["IDLE_TIMEOUT_S", "0"],
    ["DATABASE_URL", "mysql://root@127.0.0.1/im"],
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["AMQP_URL", "http://127.0.0.1:5672"],
    ["ZK_CONNECT", "not a host"],
    ["HOST_IP", "not-an-ip"],
    ["MAX_FRAME_BYTES", "1e5"],
    ["MAX_CONNS", "0"],
    ["MAX_CONNS", "many"],
  ];
  for (const [name, value] of invalid) {
    test(`${name}=${value} throws a ConfigError whose message names ${name}`, () => {
      const err = configErrorOf(() => loadConfig({ [name]: value }));
      expect(err.message).toContain(name);
    });
  }

  test("two invalid variables are both named in one error", () => {
    const err = configErrorOf(() => loadConfig({ PORT: "abc", ROUTING: "x" }));
    expect(err.message).toContain("PORT");
    expect(err.message).toContain("ROUTING");
  });

  test("empty strings count as unset and take the defaults", () => {
    const c = loadConfig({ PORT: "", ROUTING: "", IDLE_TIMEOUT_S: "", DATABASE_URL: "", ZK_CONNECT: "", REDIS_URL: "", AMQP_URL: "" });
    expect(c.mode).toBe("standalone");
    expect(c.port).toBeUndefined();
    expect(c.routing).toBe("direct");
    expect(c.idleTimeoutS).toBe(60);
    expect(c.databaseUrl).toBe("sqlite://data/chat.db");
  });

  test("an empty cluster variable next to two set ones counts as missing", () => {
    const err = configErrorOf(() => loadConfig({ ...CLUSTER, AMQP_URL: "" }));
    expect(err.message).toContain("AMQP_URL is missing");
  });

  test("variables the schema does not know are ignored", () => {
    expect(loadConfig({ SOMETHING_ELSE: "x", PATH: "/usr/bin" }).mode).toBe("standalone");
  });
});

describe("checkPrivilegedPort", () => {
  test("a port below 1024 without root throws a ConfigError telling how to pick another port", () => {
    const err = configErrorOf(() => checkPrivilegedPort(875, false));
    expect(err.message).toContain("875");
    expect(err.message).toContain("PORT=");
    expect(err.message).toMatch(/root/);
  });

  test("a port below 1024 is allowed for root", () => {
    expect(() => checkPrivilegedPort(875, true)).not.toThrow();
  });

  test("port 1024 and above is allowed without root", () => {
    expect(() => checkPrivilegedPort(1024, false)).not.toThrow();
    expect(() => checkPrivilegedPort(8875, false)).not.toThrow();
  });

  test("port 0 (let the OS choose) is allowed without root", () => {
    expect(() => checkPrivilegedPort(0, false)).not.toThrow();
  });
});

describe("server.ts with a bad configuration", () => {
  /** Runs `bun run server.ts` with only `env` (plus PATH/HOME), returns its exit code and output. */
  async function runServer(env: Record<string, string>) {
    const proc = Bun.spawn([process.execPath, "run", "server.ts"], {
      cwd: "/work/main",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
      stdout: "pipe",
      stderr: "pipe",
      timeout: 10_000,
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, output: stdout + stderr, signal: proc.signalCode };
  }

  test("ZK_CONNECT alone exits non-zero naming REDIS_URL and AMQP_URL", async () => {
    const r = await runServer({ ZK_CONNECT: "127.0.0.1:2181" });
    expect(r.signal).toBeNull(); // exited by itself, not killed by the timeout
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("REDIS_URL");
    expect(r.output).toContain("AMQP_URL");
  }, 15_000);

  test("PORT=abc exits non-zero naming PORT", async () => {
    const r = await runServer({ PORT: "abc" });
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/\bPORT\b/);
  }, 15_000);
});
