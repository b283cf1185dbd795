// The WAL checkpointer of a SQLite file, on its own thread (lib/adapters/sql/checkpointer.ts starts it).
// A checkpoint copies the WAL's pages into the database file and syncs it: done by the writer on
// commit (SQLite's autocheckpoint) it stopped the event loop for ~30 ms every second under load,
// and every message of that moment waited. PASSIVE checkpoints on another connection run beside
// the writer; a RESTART, only once the WAL is long, rewinds it (blocking writers for the short tail
// the last PASSIVE left).
import { Database } from "bun:sqlite";

export interface CheckpointConfig {
  filename: string;
  /** Time between checkpoints. */
  everyMs: number;
  /** WAL length in pages from which the WAL is rewound. */
  restartPages: number;
}

/** What one round did, as SQLite reports it: `log` WAL pages, `checkpointed` of them in the file. */
export type CheckpointReport = { log: number; checkpointed: number; restarted: boolean } | { error: string };

declare const self: Worker;

function run(config: CheckpointConfig): void {
  const db = new Database(config.filename);
  db.exec("PRAGMA busy_timeout = 2000");
  const checkpoint = (mode: "PASSIVE" | "RESTART") => db.query(`PRAGMA wal_checkpoint(${mode})`).get() as { busy: number; log: number; checkpointed: number };
  setInterval(() => {
    let report: CheckpointReport;
    try {
      const passive = checkpoint("PASSIVE");
      const restarted = passive.log >= config.restartPages && checkpoint("RESTART").busy === 0;
      report = { log: passive.log, checkpointed: passive.checkpointed, restarted };
    } catch (err) {
      report = { error: String((err as Error).message ?? err) };
    }
    self.postMessage(report);
  }, config.everyMs);
}

self.onmessage = (event: MessageEvent<CheckpointConfig>) => run(event.data);
