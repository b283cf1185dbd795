// Composition root: config -> instance (adapters, chat core, HTTP app, Bun.serve) -> graceful stop on signals.
import { ConfigError, loadConfig, type Config } from "./lib/config.ts";
import { startInstance } from "./lib/instance.ts";
import { createLogger } from "./lib/log.ts";
import { probeHealth, probeUrl } from "./lib/transport/http/health-probe.ts";

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`im-server: ${err.message}`);
  process.exit(1);
}
// `--health`: ask the instance this environment describes (PORT, else PORT_BASE) and exit 0 or 1.
if (Bun.argv.includes("--health")) process.exit((await probeHealth(probeUrl(config))) ? 0 : 1);
const log = createLogger(config.logLevel);

// Signal handlers first: a SIGTERM that comes while the instance starts (or just after it says it
// listens: Bun takes the handler on a later turn) stops it cleanly once started, instead of killing it.
let instance: Awaited<ReturnType<typeof startInstance>> | undefined;
let stopSignal: string | undefined;
const shutdown = (signal: string) => {
  log.info("signal", { signal });
  if (stopSignal) return;
  stopSignal = signal;
  if (instance) stop(instance);
};
function stop(running: NonNullable<typeof instance>): void {
  const timer = setTimeout(() => {
    log.error("shutdown.timeout", { ms: config.shutdownTimeoutMs });
    process.exit(1);
  }, config.shutdownTimeoutMs);
  running.stop().then(
    () => {
      clearTimeout(timer);
      process.exit(0);
    },
    (err) => {
      log.error("shutdown.failed", { err });
      process.exit(1);
    },
  );
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
// SIGUSR2: collect garbage now (for memory measurements that should not depend on GC timing).
process.on("SIGUSR2", () => Bun.gc(true));

try {
  instance = await startInstance(config, log);
} catch (err) {
  const message = err instanceof ConfigError ? err.message : `could not start: ${(err as Error).message}`;
  log.error("instance.start_failed", { message });
  console.error(`im-server: ${message}`);
  process.exit(1);
}
if (!config.authSecret) {
  log.warn("auth.disabled", { message: "AUTH_SECRET is not set: the server trusts client-declared user ids (development only)" });
}
console.log(`im-server: ${config.mode} mode, listening on ${config.bindHost}:${instance.port} (ws://${config.hostIp}:${instance.port}/ws)`);
if (stopSignal) stop(instance);
