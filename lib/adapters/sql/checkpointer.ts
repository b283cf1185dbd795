// Starts the WAL checkpointer thread of a SQLite file (lib/adapters/sql/checkpoint-worker.ts) and
// falls back to SQLite's own checkpoints on commit when that thread cannot run.
import { everyInterval, type Logger } from "../../log.ts";
import type { CheckpointConfig, CheckpointReport } from "./checkpoint-worker.ts";
import { workerEntry } from "./worker-entry.ts";

export interface Checkpointer {
  /** Stops the thread (the last connection to close checkpoints the rest). */
  stop(): void;
}

/**
 * Runs checkpoints of `filename` beside its writers. `fallback` is called if the thread fails
 * (the writers then checkpoint on commit again, so the WAL never grows without bound).
 */
export function startCheckpointer(filename: string, log: Logger, fallback: () => void, everyMs = 200, restartPages = 4000): Checkpointer {
  const failed = everyInterval(log, "store.checkpoint_failed");
  let worker: Worker | undefined;
  let stopped = false;
  let errorsInARow = 0;
  const giveUp = (err: unknown) => {
    if (stopped) return;
    log.warn("store.checkpointer_stopped", { err, hint: "the writer checkpoints on commit again" });
    worker?.terminate();
    worker = undefined;
    fallback();
  };
  try {
    worker = new Worker(workerEntry("checkpoint-worker.ts"), { ref: false });
    worker.onmessage = (event: MessageEvent<CheckpointReport>) => {
      if (!("error" in event.data)) return void (errorsInARow = 0);
      failed({ err: event.data.error });
      if (++errorsInARow * everyMs >= 5000) giveUp(event.data.error);
    };
    worker.onerror = (event) => giveUp(event.message);
    worker.postMessage({ filename, everyMs, restartPages } satisfies CheckpointConfig);
  } catch (err) {
    giveUp(err);
  }
  return {
    stop() {
      stopped = true;
      worker?.terminate();
    },
  };
}
