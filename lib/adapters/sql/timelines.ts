// Each stored chat message's positions in its timelines: the receiver's (a user, a group, or
// everyone) and the sender's. A timeline's positions are 1, 2, 3… with no gap, given in the
// transaction that inserts the message, so a position is never visible before the ones below it:
// a client that holds every position up to n of a timeline lacks nothing older there, whatever
// order live frames arrived in and whatever the instances' clocks (README: replay by seq).
import type { Database } from "bun:sqlite";
import type { Seqs } from "../../core/ports.ts";
import { SYSTEM_SENDER } from "../../protocol/ids.ts";

/** The counters: the last position given in each timeline. */
export const SEQ_TABLE_DDL = "CREATE TABLE IF NOT EXISTS im_seq (timeline_id VARCHAR(64) PRIMARY KEY, seq BIGINT NOT NULL)";

/** A new row's positions: in the receiver's timeline, and in the sender's (null: it has none). */
export type RowSeq = readonly [receiverSeq: number, senderSeq: number | null];

/**
 * The sender's timeline of a message, or null: a message to oneself is in one timeline only, and
 * the system's broadcasts are in everyone's.
 */
export const senderTimeline = (senderId: string, receiverId: string): string | null =>
  senderId === receiverId || senderId === SYSTEM_SENDER ? null : senderId;

/** A row's positions by timeline id (what a frame to a client that declared "seq" carries). */
export function seqsOf(receiverId: string, senderId: string, [r, s]: RowSeq): Seqs {
  const st = senderTimeline(senderId, receiverId);
  return st === null || s === null ? { [receiverId]: r } : { [receiverId]: r, [st]: s };
}

/**
 * Positions for a batch of new rows in `counters`' timelines, in batch order: `take(i)` gives row
 * i its positions; `commit(i)` keeps them once the row was inserted (a duplicate's are given again
 * to the next row, so no position is skipped).
 */
export function seqAllocator(counters: Map<string, number>) {
  return {
    take(receiverId: string, senderId: string): RowSeq {
      const st = senderTimeline(senderId, receiverId);
      return [(counters.get(receiverId) ?? 0) + 1, st === null ? null : (counters.get(st) ?? 0) + 1];
    },
    commit(receiverId: string, senderId: string, [r, s]: RowSeq): void {
      counters.set(receiverId, r);
      const st = senderTimeline(senderId, receiverId);
      if (st !== null && s !== null) counters.set(st, s);
    },
  };
}

type Value = string | number | null;

/**
 * The writer of a SQLite file through bun:sqlite (the writer thread's, and the event loop's when
 * that thread cannot run): one IMMEDIATE transaction per batch, rows as arrays of `columns`'
 * values; answers the inserted rows' ids with their positions (a row skipped as stored before is
 * not listed). The counters it read are kept between batches while no other connection wrote the
 * file (`PRAGMA data_version`, read under the write lock); each batch writes the ones it moved.
 */
export function sqliteSeqWriter(db: Database, columns: readonly string[]): (rows: Value[][]) => Array<[id: string, r: number, s: number | null]> {
  const at = (name: string) => columns.indexOf(name);
  const [idAt, senderAt, receiverAt, rSeqAt, sSeqAt] = ["id", "sender_id", "receiver_id", "receiver_seq", "sender_seq"].map(at);
  const insert = db.prepare(`INSERT INTO chat_message (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ON CONFLICT DO NOTHING`);
  const counterOf = db.prepare<{ seq: number }, [string]>("SELECT seq FROM im_seq WHERE timeline_id = ?");
  const setCounter = db.prepare("INSERT INTO im_seq (timeline_id, seq) VALUES (?, ?) ON CONFLICT (timeline_id) DO UPDATE SET seq = excluded.seq");
  const dataVersion = db.prepare<{ data_version: number }, []>("PRAGMA data_version");
  const counters = new Map<string, number>();
  let version = -1;
  const alloc = seqAllocator(counters);
  const read = (t: string | null) => {
    if (t !== null && !counters.has(t)) counters.set(t, Number(counterOf.get(t)?.seq ?? 0));
  };
  const write = db.transaction((rows: Value[][]) => {
    const now = dataVersion.get()!.data_version;
    if (now !== version) counters.clear(); // another connection wrote: what was read may be old
    version = now;
    const changed = new Set<string>();
    const fresh: Array<[string, number, number | null]> = [];
    for (const row of rows) {
      const sender = row[senderAt] as string;
      const receiver = row[receiverAt] as string;
      const st = senderTimeline(sender, receiver);
      read(receiver);
      read(st);
      const seq = alloc.take(receiver, sender);
      row[rSeqAt] = seq[0];
      row[sSeqAt] = seq[1];
      if (insert.run(...row).changes !== 1) continue;
      alloc.commit(receiver, sender, seq);
      changed.add(receiver);
      if (st !== null) changed.add(st);
      fresh.push([row[idAt] as string, seq[0], seq[1]]);
    }
    for (const t of changed) setCounter.run(t, counters.get(t)!);
    return fresh;
  });
  // IMMEDIATE: the counters are read under the write lock (another instance may share the file).
  return (rows) => {
    try {
      return write.immediate(rows);
    } catch (err) {
      counters.clear(); // rolled back: the counters may hold positions given to nobody
      throw err;
    }
  };
}
