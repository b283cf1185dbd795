// The deployment files: compose.yaml validates, and the Dockerfile follows Bun's guide.
import { expect, test } from "bun:test";

const ROOT = import.meta.dir + "/..";

test("compose.yaml is valid for docker-compose and runs the services, three instances and a front proxy", async () => {
  const p = Bun.spawn(["docker-compose", "-f", "compose.yaml", "config"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(err.includes("ERROR") ? err : "").toBe("");
  expect(code).toBe(0);
  for (const svc of ["zookeeper", "redis", "rabbitmq", "postgres", "im1", "im2", "im3", "proxy"]) expect(out).toContain(`  ${svc}:`);
  expect(out.match(/healthcheck:/g)?.length).toBeGreaterThanOrEqual(4);
  expect(out.match(/nofile:/g)?.length).toBe(3); // each instance raises its open-files limit
});

test("the Dockerfile builds from oven/bun with locked dependencies in their own layer, as a non-root user, with a health check", async () => {
  const text = await Bun.file(`${ROOT}/Dockerfile`).text();
  expect(text).toMatch(/^FROM oven\/bun:\S+/m);
  expect(text).toContain("COPY package.json bun.lock ./");
  expect(text).toContain("bun install --frozen-lockfile");
  expect(text).toMatch(/^USER bun$/m);
  expect(text).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
  for (const path of ["server.ts", "lib", "client"]) expect(text).toContain(path);
});
