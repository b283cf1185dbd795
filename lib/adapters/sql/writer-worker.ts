// The chat_message writer of a SQLite file, on a thread of its own (lib/adapters/sql/writer-thread.ts
// starts it). bun:sqlite is synchronous: run on the event loop, each batch's INSERTs and commit
// stopped every other message of the instance (a quarter of the sending instance's time in the
// profile). Here a batch arrives as one JSON string of rows and is written in one transaction.
import { Database } from "bun:sqlite";
import { sqliteSeqWriter } from "./timelines.ts";

/** The first message: the file, the columns of a row (in order), the autocheckpoint setting. */
export interface WriterConfig {
  filename: string;
  columns: string[];
  autocheckpointPages: number;
}

/** A batch: `rows` is JSON of an array of rows, each an array of the columns' values. */
export interface WriterBatch {
  seq: number;
  rows: string;
}

export type WriterRequest = { config: WriterConfig } | { batch: WriterBatch } | { autocheckpointPages: number } | { close: true };

/** The answer to a batch: the ids inserted with their positions (the others were duplicates), or why it failed. */
export type WriterReply = { seq: number; fresh: Array<[id: string, r: number, s: number | null]> } | { seq: number; error: { message: string; code?: string } };

declare const self: Worker;

let write: ReturnType<typeof sqliteSeqWriter> | undefined;
let db: Database | undefined;

function open(config: WriterConfig): void {
  db = new Database(config.filename);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA synchronous = NORMAL"); // per connection: as the store's (WAL: durable on process crash)
  db.exec(`PRAGMA wal_autocheckpoint = ${config.autocheckpointPages}`);
  write = sqliteSeqWriter(db, config.columns);
}

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const req = event.data;
  if ("config" in req) {
    return open(req.config); // throws on a file it cannot open: the error event reaches the starter
  }
  if ("close" in req) {
    db?.close();
    return process.exit(0);
  }
  if ("autocheckpointPages" in req) return void db?.exec(`PRAGMA wal_autocheckpoint = ${req.autocheckpointPages}`);
  const { seq, rows } = req.batch;
  let reply: WriterReply;
  try {
    reply = { seq, fresh: write!(JSON.parse(rows)) };
  } catch (err) {
    const e = err as { message?: string; code?: unknown };
    reply = { seq, error: { message: String(e?.message ?? err), code: typeof e?.code === "string" ? e.code : undefined } };
  }
  self.postMessage(reply);
};
