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

test("the Dockerfile compiles the executable as `bun run build` does and ships it alone on Debian slim, as a non-root user, with a health check", async () => {
  const text = await Bun.file(`${ROOT}/Dockerfile`).text();
  const pkg = await Bun.file(`${ROOT}/package.json`).json();
  expect(pkg.scripts.build).toStartWith("bun build --compile ");
  const [build, release] = text.split(/^FROM /m).slice(1);
  expect(build).toMatch(/^oven\/bun:\S+ AS build$/m);
  expect(build).toContain("COPY package.json bun.lock");
  expect(build).toContain("bun install --frozen-lockfile");
  expect(build).toMatch(/^RUN bun run build$/m);
  for (const path of ["server.ts", "lib", "client"]) expect(build).toMatch(new RegExp(`^COPY .*\\b${path}\\b`, "m"));
  expect(release).toMatch(/^debian:bookworm-slim AS release$/m);
  // Only the executable crosses over, and nothing in the final image runs bun.
  expect(release.match(/^COPY .*$/gm)).toEqual(["COPY --from=build /src/dist/im-server /app/im-server"]);
  expect(release).not.toMatch(/\bbun\b/);
  expect(release).toMatch(/^USER im$/m);
  expect(release).toContain("chown im:im /app/data");
  expect(release).toMatch(/^HEALTHCHECK [^\n]*\\\n\s*CMD \["\/app\/im-server", "--health"\]$/m);
  expect(release).toMatch(/^ENTRYPOINT \["\/app\/im-server"\]$/m);
});
