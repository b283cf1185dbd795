// The message store over Bun.SQL: SQLite (default) or PostgreSQL, with batched, durable writes
// (lib/adapters/sql/writer.ts) and the reads of history, replay and receipts.
import type { SQL } from "bun";
import type { Conversation, MessageStore, StoredMsg } from "../../core/ports.ts";
import { isEventType } from "../../protocol/edits.ts";
import { applyEditQuery, hiddenAmongQuery, hideQuery } from "./edits.ts";
import type { Logger } from "../../log.ts";
import { isMsgId } from "../../protocol/ids.ts";
import { fromRow, fromRowWithSeq, toRow } from "./rows.ts";
import { afterQuery, byIdsQuery, conversationQueries, firstOfQuery, getQuery, historyQueries, markReadQuery, sinceQuery, topsQuery } from "./queries.ts";
import { migrate, openSql, type Dialect } from "./schema.ts";
import { seqsOf } from "./timelines.ts";
import { createGroupCommit, pgWriter, sqlWriter } from "./writer.ts";
import { sqliteThreadWriter, type FileWriter } from "./writer-thread.ts";
import { startCheckpointer, type Checkpointer } from "./checkpointer.ts";


export interface SqlStoreOptions {
  /** `sqlite://relative.db`, `sqlite:///absolute.db`, `sqlite::memory:` or `postgres://…` */
  url: string;
  log: Logger;
  /** Most rows in one INSERT (default 500). */
  maxBatch?: number;
  /** Told the size of each batch of writes (a metric). */
  onBatch?(rows: number): void;
}

export type SqlStore = MessageStore & {
  readonly dialect: Dialect;
  /** The connection, shared with the group tables (lib/adapters/sql/groups.ts). */
  readonly sql: SQL;
  /**
   * Stores a message another publisher minted (a seed instance's `sendMsgToSave`) unless its msgId
   * is stored already; true when it was inserted.
   */
  adopt(msg: StoredMsg): Promise<boolean>;
  /** "ok" or a short reason. */
  health(): Promise<string>;
  /** Finishes pending writes, then closes. */
  close(): Promise<void>;
};

/** Opens the store, creating or migrating the schema. */
export async function createSqlStore(opts: SqlStoreOptions): Promise<SqlStore> {
  const { sql, dialect, filename } = openSql(opts.url);
  await migrate(sql, dialect);
  const fileWriter = filename ? sqliteThreadWriter(filename, opts.log) : undefined;
  const rowWriter = dialect === "postgres" ? pgWriter(sql) : sqlWriter(sql);
  const checkpointer = fileWriter && checkpointBeside(sql, fileWriter, filename!, opts.log);
  const writer = createGroupCommit({
    writeRows: fileWriter ?? rowWriter,
    async firstOf(senderId, clientMsgId) {
      const [first] = await sql.unsafe(...firstOfQuery(senderId, clientMsgId));
      if (!first) return undefined;
      const seq = first.receiver_seq == null ? undefined : seqsOf(first.receiver_id, senderId, [Number(first.receiver_seq), first.sender_seq == null ? null : Number(first.sender_seq)]);
      return { msgId: first.id, chatTime: first.chat_time, seq };
    },
    log: opts.log,
    maxBatch: opts.maxBatch ?? 500,
    onBatch: opts.onBatch,
    // PostgreSQL: the next batch is sent while the previous one commits (the pool has connections).
    maxInFlight: dialect === "postgres" ? 2 : 1,
    minGapMs: fileWriter ? 2 : 0,
  });
  let closed = false;

  /**
   * A conversation's newest row may be an event (a recall, an edit, a delete: their rows keep the
   * index-only plan of the conversation list) or a message `userId` deleted for itself: then its
   * newest message shown in history takes its place, and one with none is left out. Rare: one
   * extra read per such conversation.
   */
  async function shownLast(userId: string, found: Conversation[]): Promise<Conversation[]> {
    const ids = found.map((c) => c.last.msgId);
    const hidden = ids.length ? new Set((await sql.unsafe(...hiddenAmongQuery(userId, ids))).map((r: any) => String(r.id))) : new Set();
    const out: Conversation[] = [];
    for (const c of found) {
      if (!isEventType(c.last.msgType) && !hidden.has(c.last.msgId)) out.push(c);
      else {
        const q = historyQueries(userId, c.conversationId, 1, 1);
        const [last] = (await sql.unsafe(...q.page)).map(fromRow);
        if (last) out.push({ conversationId: c.conversationId, last });
      }
    }
    return out;
  }

  return {
    dialect,
    sql,
    save(msg) {
      if (closed) return Promise.reject(new Error("store is closed"));
      return writer.save(msg);
    },
    async history(a, b, page, pageSize) {
      const q = historyQueries(a, b, page, pageSize);
      const [{ n }] = await sql.unsafe(...q.count);
      const rows = await sql.unsafe(...q.page);
      return { records: Number(n), rows: rows.map(fromRow).reverse() };
    },
    async after(userId, afterMsgId, limit, alsoTo = []) {
      if (!isMsgId(afterMsgId)) return [];
      return (await sql.unsafe(...afterQuery(userId, afterMsgId, limit, alsoTo))).map(fromRowWithSeq);
    },
    async since(userId, alsoTo, positions, afterMsgId, limit) {
      const rows = await sql.unsafe(...sinceQuery(userId, alsoTo, positions, afterMsgId !== undefined && isMsgId(afterMsgId) ? afterMsgId : undefined, limit));
      const seen = new Set<string>();
      const messages: StoredMsg[] = [];
      for (const r of rows) {
        const m = fromRowWithSeq(r);
        if (!seen.has(m.msgId)) seen.add(m.msgId), messages.push(m);
      }
      return { messages, complete: rows.length < limit };
    },
    async tops(timelines) {
      const tops: Record<string, number> = Object.fromEntries(timelines.map((t) => [t, 0]));
      if (!timelines.length) return tops;
      for (const r of await sql.unsafe(...topsQuery(timelines))) tops[r.timeline_id] = Number(r.seq);
      return tops;
    },
    async conversations(userId, groupIds, page, pageSize) {
      // The page of (conversation, newest id) first, then those rows by primary key: joined in one
      // statement, PostgreSQL chose a merge join that walks the primary key from the newest row down.
      const q = conversationQueries(userId, groupIds, page, pageSize);
      const top = await sql.unsafe(...q.page);
      const records = top.length ? Number(top[0].n) : Number((await sql.unsafe(...q.count))[0].n);
      if (!top.length) return { records, rows: [] };
      const ids: string[] = top.map((r: any) => r.last_id as string);
      const byId = new Map((await sql.unsafe(...byIdsQuery(ids))).map((r: any) => [String(r.id), fromRow(r)]));
      const found = top.flatMap((r: any) => {
        const last = byId.get(r.last_id);
        return last ? [{ conversationId: r.cid as string, last }] : [];
      });
      const rows = await shownLast(userId, found);
      return { records: records - (found.length - rows.length), rows };
    },
    async get(msgId) {
      if (!isMsgId(msgId)) return undefined;
      const rows = await sql.unsafe(...getQuery(msgId));
      return rows.length ? fromRowWithSeq(rows[0]) : undefined;
    },
    async adopt(msg) {
      // With its positions, as the writer gives them (a seed instance's message is replayed by seq too).
      return (await rowWriter([toRow(msg)])).has(msg.msgId);
    },
    async applyEdit(change) {
      if (!isMsgId(change.msgId)) return false;
      return (await sql.unsafe(...applyEditQuery(change))).count > 0;
    },
    async hide(userId, msgId) {
      if (!isMsgId(msgId)) return false;
      return (await sql.unsafe(...hideQuery(userId, msgId))).count > 0;
    },
    async markRead(msgId) {
      if (!isMsgId(msgId)) return false;
      const res = await sql.unsafe(...markReadQuery(msgId));
      return res.count > 0;
    },
    async health() {
      try {
        await Promise.race([sql`SELECT 1`, Bun.sleep(2000).then(() => Promise.reject(new Error("timeout")))]);
        return "ok";
      } catch (err) {
        return `store: ${(err as Error).message}`;
      }
    },
    async close() {
      closed = true;
      await writer.drain();
      checkpointer?.stop();
      await fileWriter?.close();
      await sql.close();
    },
  };
}

/**
 * A SQLite file's checkpoints move off its connections' commits to a thread of their own; if that
 * thread fails, both connections checkpoint on commit again, every 10,000 WAL pages (measured on
 * 40,000 rows in batches of 20: 65 µs a row with SQLite's default of 1,000, 42 µs with 10,000).
 */
function checkpointBeside(sql: SQL, writer: FileWriter, filename: string, log: Logger): Checkpointer {
  const autocheckpoint = (pages: number) => {
    writer.autocheckpoint(pages);
    sql.unsafe(`PRAGMA wal_autocheckpoint = ${pages}`).catch((err) => log.warn("store.pragma_failed", { err }));
  };
  autocheckpoint(0);
  return startCheckpointer(filename, log, () => autocheckpoint(10_000));
}
