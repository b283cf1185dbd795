// What a behavioural test runs against: one or more instances reachable over the network.
import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/config.ts";
import { startInstance, type Instance } from "../../lib/instance.ts";
import { silentLogger } from "../../lib/log.ts";

export interface Target {
  /** Number of instances. */
  readonly size: number;
  wsUrl(i?: number): string;
  httpUrl(i?: number): string;
  stop(): Promise<void>;
}

/** POSTs (or GETs) and returns `{status, body}` with the JSON body. */
export async function http(url: string, method = "POST"): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

/** A standalone instance in this process on a free port, with its own SQLite file. */
export async function standaloneTarget(env: Record<string, string> = {}): Promise<Target & { instance: Instance }> {
  const dir = mkdtempSync(join(tmpdir(), "im-test-"));
  const config = loadConfig({
    PORT: "0",
    BIND_HOST: "127.0.0.1",
    HOST_IP: "127.0.0.1",
    DATABASE_URL: `sqlite://${join(dir, "chat.db")}`,
    ...env,
  });
  const instance = await startInstance(config, silentLogger);
  const base = `127.0.0.1:${instance.port}`;
  return {
    size: 1,
    instance,
    wsUrl: () => `ws://${base}/ws`,
    httpUrl: () => `http://${base}`,
    async stop() {
      await instance.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Inside a describe of a behavioural suite: starts `makeTarget()` before its tests and, after them,
 * closes the suite's `clients` and stops it; `user(tag)` is a fresh user id per call (tests never see
 * each other's traffic), `at(i)` instance i's WebSocket URL (modulo the target's size).
 */
export function suiteTarget<T extends Target>(makeTarget: () => Promise<T>) {
  let target: T | undefined;
  const clients: Array<{ close(): void }> = [];
  let run = 0;
  beforeAll(async () => {
    target = await makeTarget();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await target?.stop();
  }, 60_000);
  return {
    get t(): T {
      return target!;
    },
    clients,
    user: (tag: string) => `${tag}-${Date.now().toString(36)}-${run++}`,
    at: (i: number) => target!.wsUrl(i % target!.size),
  };
}
