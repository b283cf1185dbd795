// A real Prometheus for tests: Debian's `prometheus` package (2.42, with promtool), installed by
// scripts/test-deps.sh; each test runs its own server on 127.0.0.1 with a temporary config and
// storage, scraping the instances it is given.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { eventually } from "./wait.ts";

const TEST_DEPS = join(import.meta.dir, "../../scripts/test-deps.sh");

/** Runs a command; its exit code and stdout and stderr together. */
export async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

const installed = () => Bun.which("prometheus") !== null && Bun.which("promtool") !== null;

/**
 * Undefined when `prometheus` and `promtool` are there, installing them first (as CI does, with
 * scripts/test-deps.sh) when missing and running as root; else why they are not, for a skip message.
 */
export async function prometheusMissing(): Promise<string | undefined> {
  if (installed()) return undefined;
  if (process.getuid?.() === 0) {
    const { code, out } = await run(["bash", TEST_DEPS]);
    if (installed()) return undefined;
    return `Prometheus could not be installed (scripts/test-deps.sh exited ${code}: ${out.trim().split("\n").slice(-3).join(" | ")})`;
  }
  return "Prometheus is not installed and this is not root: run `bash scripts/test-deps.sh` as root (Debian package prometheus)";
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  readonly url: string;
  /** An instant query at `time` (Unix seconds; default now): every series with its value. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** GETs an API path (e.g. `/api/v1/rules`) and returns its `data`. */
  api(path: string): Promise<any>;
  /** Its log lines (complete once it stopped). */
  readonly log: string[];
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` of each instance's /metrics, scraped in job "im". */
  targets: string[];
  scrapeIntervalS?: number;
  /** Rule files to load (evaluated every scrape interval). */
  ruleFiles?: string[];
}

/** Starts Prometheus on 127.0.0.1 only; resolves once it is ready. */
export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "im-prometheus-"));
  const every = `${opts.scrapeIntervalS ?? 1}s`;
  const config = {
    global: { scrape_interval: every, evaluation_interval: every, scrape_timeout: every },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: [{ job_name: "im", static_configs: [{ targets: opts.targets }] }],
  };
  writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config)); // JSON is YAML
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn(
    [
      "prometheus", `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn", "--storage.tsdb.retention.time=1h",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const log: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    void new Response(stream).text().then((text) => log.push(...text.split("\n").filter(Boolean)));
  }
  const ready = await eventually(() => fetch(`${url}/-/ready`).then((r) => r.ok, () => false), 15_000, 100);
  const stop = async () => {
    proc.kill("SIGTERM");
    await Promise.race([proc.exited, Bun.sleep(5000).then(() => proc.kill("SIGKILL"))]);
    rmSync(dir, { recursive: true, force: true });
  };
  if (!ready) {
    await stop();
    throw new Error(`Prometheus did not become ready within 15 s:\n${log.join("\n")}`);
  }
  async function api(path: string): Promise<any> {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: any; error?: string };
    if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
    return body.data;
  }
  return {
    url,
    log,
    api,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr, ...(time !== undefined ? { time: String(time) } : {}) });
      const data = await api(`/api/v1/query?${params}`);
      if (data.resultType !== "vector") throw new Error(`${expr}: a ${data.resultType}, not a vector`);
      return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    stop,
  };
}
