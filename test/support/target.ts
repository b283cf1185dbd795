// What a behavioural test runs against: one or more instances reachable over the network.
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
