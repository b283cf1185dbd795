// Coordinates several conn-worker.ts processes: open C connections, CONNECT_INIT them all at once, close.
import type { Subprocess } from "bun";
import { join } from "node:path";
import { progress } from "./common.ts";

const WORKER = join(import.meta.dir, "conn-worker.ts");

export interface PoolEvent {
  event: string;
  n: number;
  ms: number;
  sentMs?: number;
  errors: Record<string, number>;
}

interface Worker {
  proc: Subprocess<"pipe", "pipe", "inherit">;
  count: number;
  events: PoolEvent[];
  waiters: Array<() => void>;
}

export interface ConnPool {
  /** Connections per url index, as assigned. */
  readonly perUrl: number[];
  /** Resolves when every worker has all its connections open; returns the slowest worker's figures. */
  opened(): Promise<{ n: number; ms: number; errors: Record<string, number> }>;
  /** Sends CONNECT_INIT on every connection of every worker at once; resolves when all are acked (or timed out). */
  init(): Promise<{ n: number; ms: number; errors: Record<string, number> }>;
  close(): Promise<void>;
}

/** Starts `workers` processes sharing `count` connections, spread round-robin over `urls`. */
export function startConnPool(urls: string[], count: number, workers: number, prefix: string, timeoutMs = 60_000): ConnPool {
  const pool: Worker[] = [];
  const perUrl = urls.map(() => 0);
  let offset = 0;
  for (let w = 0; w < workers; w++) {
    const n = Math.floor(count / workers) + (w < count % workers ? 1 : 0);
    for (let j = 0; j < n; j++) perUrl[(offset + j) % urls.length]++;
    const arg = JSON.stringify({ urls, count: n, prefix: `${prefix}w${w}-`, offset, timeoutMs });
    offset += n;
    const proc = Bun.spawn(["bun", WORKER, arg], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const worker: Worker = { proc, count: n, events: [], waiters: [] };
    pool.push(worker);
    void (async () => {
      let buf = "";
      const reader = proc.stdout.getReader();
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) break;
        buf += new TextDecoder().decode(chunk);
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          worker.events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
          for (const w of worker.waiters.splice(0)) w();
        }
      }
      worker.events.push({ event: "exited", n: 0, ms: 0, errors: {} });
      for (const w of worker.waiters.splice(0)) w();
    })();
  }

  async function next(w: Worker, event: string, boundMs: number): Promise<PoolEvent> {
    const deadline = Date.now() + boundMs;
    for (;;) {
      const found = w.events.find((e) => e.event === event || e.event === "exited");
      if (found) {
        if (found.event === "exited") throw new Error(`connection worker exited before "${event}"`);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`connection worker: no "${event}" within ${boundMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        w.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  const merge = (events: PoolEvent[]) => {
    const errors: Record<string, number> = {};
    for (const e of events) for (const [k, v] of Object.entries(e.errors)) errors[k] = (errors[k] ?? 0) + v;
    return { n: events.reduce((s, e) => s + e.n, 0), ms: Math.max(...events.map((e) => e.ms)), errors };
  };

  return {
    perUrl,
    async opened() {
      const r = merge(await Promise.all(pool.map((w) => next(w, "open", timeoutMs + 10_000))));
      progress(`${r.n}/${count} connections open in ${r.ms.toFixed(0)} ms (${pool.length} client processes)`);
      return r;
    },
    async init() {
      for (const w of pool) w.proc.stdin.write("init\n");
      for (const w of pool) w.proc.stdin.flush();
      return merge(await Promise.all(pool.map((w) => next(w, "acked", timeoutMs + 10_000))));
    },
    async close() {
      for (const w of pool) {
        try {
          w.proc.stdin.write("close\n");
          w.proc.stdin.flush();
        } catch {}
      }
      await Promise.all(pool.map((w) => Promise.race([w.proc.exited, Bun.sleep(10_000).then(() => w.proc.kill("SIGKILL"))])));
    },
  };
}
