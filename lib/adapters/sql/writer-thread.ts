// Starts the writer thread of a SQLite file (lib/adapters/sql/writer-worker.ts) and writes batches
// through it; when the thread cannot run, the file is written on the event loop as before.
import type { Logger } from "../../log.ts";
import { COLUMNS } from "./schema.ts";
import { sqliteFileWriter, type Fresh, type RowWriter } from "./writer.ts";
import type { WriterReply, WriterRequest } from "./writer-worker.ts";
import { workerEntry } from "./worker-entry.ts";
import type { Row } from "./rows.ts";

export type FileWriter = RowWriter & {
  /** Closes the thread's connection and ends it (or closes the fallback's); call once no batch is pending. */
  close(): Promise<void>;
  /** Checkpoints on commit once the WAL has `pages` pages (0: never, the checkpointer thread does it). */
  autocheckpoint(pages: number): void;
};

interface Waiting {
  resolve(fresh: Fresh): void;
  reject(err: unknown): void;
}

/**
 * Writes rows of `filename` on a thread of its own: each batch crosses as one string and is one
 * transaction there, so the event loop only encodes rows and waits. A batch under way when the
 * thread fails is rejected as the store being unavailable (its senders resend; a row that did land
 * is found by the resend), and later batches are written on the event loop. `entry` is the
 * thread's module (tests pass one that fails).
 */
export function sqliteThreadWriter(filename: string, log: Logger, entry = workerEntry("writer-worker.ts")): FileWriter {
  const columns = COLUMNS.map(([name]) => name);
  const waiting = new Map<number, Waiting>();
  let seq = 0;
  let pages = 0;
  let worker: Worker | undefined;
  let fallback: ReturnType<typeof sqliteFileWriter> | undefined;

  function stopped(reason: unknown): void {
    if (!worker) return;
    log.warn("store.writer_thread_stopped", { err: reason, hint: "rows are written on the event loop from now on" });
    worker.terminate();
    worker = undefined;
    const err = new Error(`the SQLite writer thread stopped: ${String(reason)}`);
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  }

  try {
    worker = new Worker(entry, { ref: false });
    worker.onmessage = (event: MessageEvent<WriterReply>) => {
      const reply = event.data;
      const w = waiting.get(reply.seq);
      if (!w) return;
      waiting.delete(reply.seq);
      if ("fresh" in reply) w.resolve(new Map(reply.fresh.map(([id, r, s]) => [id, [r, s]])));
      else w.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    };
    worker.onerror = (event) => stopped(event.message);
    worker.addEventListener("close", () => stopped("the thread exited"));
    worker.postMessage({ config: { filename, columns, autocheckpointPages: pages } } satisfies WriterRequest);
  } catch (err) {
    log.warn("store.writer_thread_stopped", { err, hint: "rows are written on the event loop" });
    worker = undefined;
  }

  const onLoop = () => {
    if (!fallback) {
      fallback = sqliteFileWriter(filename);
      fallback.autocheckpoint(pages);
    }
    return fallback;
  };

  const write = (rows: Row[]): Promise<Fresh> => {
    if (!worker) return onLoop()(rows);
    const values = rows.map((row) => columns.map((c) => (row as Record<string, unknown>)[c] ?? null));
    const n = ++seq;
    return new Promise<Fresh>((resolve, reject) => {
      waiting.set(n, { resolve, reject });
      worker!.postMessage({ batch: { seq: n, rows: JSON.stringify(values) } } satisfies WriterRequest);
    });
  };

  return Object.assign(write, {
    async close() {
      const w = worker;
      worker = undefined;
      fallback?.close();
      if (!w) return;
      const closed = new Promise<void>((resolve) => w.addEventListener("close", () => resolve()));
      w.postMessage({ close: true } satisfies WriterRequest);
      await Promise.race([closed, Bun.sleep(1000)]);
      w.terminate();
    },
    autocheckpoint(n: number) {
      pages = n;
      worker?.postMessage({ autocheckpointPages: n } satisfies WriterRequest);
      fallback?.autocheckpoint(n);
    },
  });
}
