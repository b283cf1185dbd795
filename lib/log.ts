// Structured logs: one JSON line per event, with the instance id on every line, quiet by default.

export type Level = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `fields` (e.g. the instance id once it is known). */
  child(fields: Record<string, unknown>): Logger;
}

function errorFields(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/** Writes to stderr lines at or above `level`. JSON.stringify escapes user data in values. */
export function createLogger(level: Level = "info", base: Record<string, unknown> = {}): Logger {
  const min = RANK[level];
  const write = (lvl: Exclude<Level, "silent">, event: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    const line: Record<string, unknown> = { t: new Date().toISOString(), level: lvl, event, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) line[k] = errorFields(v);
    process.stderr.write(JSON.stringify(line) + "\n");
  };
  return {
    debug: (e, f) => write("debug", e, f),
    info: (e, f) => write("info", e, f),
    warn: (e, f) => write("warn", e, f),
    error: (e, f) => write("error", e, f),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}

/** A logger that writes nothing (tests of units that need one). */
export const silentLogger: Logger = createLogger("silent", {});

/**
 * Logs a run of failures once: the first `fail` of a run writes a warn line, later ones count;
 * the next `ok` writes one info line with how many failed. For failures of a dependency that would
 * otherwise log per message in a tight loop.
 */
export function failureStreak(log: Logger, event: string) {
  let failures = 0;
  return {
    fail(fields?: Record<string, unknown>): void {
      if (failures++ === 0) log.warn(event, fields);
    },
    ok(): void {
      if (failures > 0) log.info(`${event}.recovered`, { failures });
      failures = 0;
    },
  };
}

/**
 * Logs an event that anyone can cause (a refused row, a refused connection) at most once per
 * `intervalMs` at warn level; a line after a quiet spell says how many were not logged.
 */
export function everyInterval(log: Logger, event: string, intervalMs = 10_000, now: () => number = Date.now) {
  let last = -Infinity;
  let suppressed = 0;
  return (fields?: Record<string, unknown>): void => {
    const t = now();
    if (t - last < intervalMs) {
      suppressed++;
      return;
    }
    log.warn(event, suppressed ? { ...fields, suppressed } : fields);
    last = t;
    suppressed = 0;
  };
}
