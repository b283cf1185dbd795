// `server.ts --health` (the container's HEALTHCHECK): exits 0 when the instance its environment names
// answers /health with 200, 1 when nothing answers there or /health says it is not ready.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { probeUrl } from "../../lib/transport/http/health-probe.ts";
import { standaloneTarget, type Target } from "../support/target.ts";

const ROOT = join(import.meta.dir, "../..");
let t: Target & { instance: { port: number } };
beforeAll(async () => {
  t = await standaloneTarget();
});
afterAll(() => t.stop());

const probe = (env: Record<string, string>) =>
  Bun.spawn(["bun", "run", "server.ts", "--health"], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "silent", ...env }, stdout: "ignore", stderr: "ignore" }).exited;

test("--health exits 0 for a ready instance on PORT and 1 where nothing listens", async () => {
  expect(await probe({ PORT: String(t.instance.port) })).toBe(0);
  expect(await probe({ PORT: "1" })).toBe(1);
}, 20_000);

test("--health asks 127.0.0.1 for an instance bound to every address, else the bound address", () => {
  expect(probeUrl({ bindHost: "0.0.0.0", port: 8875, portBase: 875 })).toBe("http://127.0.0.1:8875/health");
  expect(probeUrl({ bindHost: "10.0.0.5", port: undefined, portBase: 875 })).toBe("http://10.0.0.5:875/health");
  expect(probeUrl({ bindHost: "::1", port: 9000, portBase: 875 })).toBe("http://[::1]:9000/health");
});
