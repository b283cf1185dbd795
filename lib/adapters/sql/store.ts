// The message store over Bun.SQL: SQLite (default) or PostgreSQL, with batched, durable writes.
import { SQL } from "bun";
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { everyInterval, failureStreak, type Logger } from "../../log.ts";
import { StoreRefusedError, type MessageStore, type SaveResult, type StoredMsg } from "../../core/store.ts";
import { EVERYONE, SYSTEM_SENDER, isGroupId, isMsgId } from "../../protocol/ids.ts";

type Dialect = "sqlite" | "postgres";

/** Column name → SQL type; `id` first. Columns are added to an older table on start. */
const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["id", "BIGINT PRIMARY KEY"],
  ["sender_id", "VARCHAR(64) NOT NULL"],
  ["receiver_id", "VARCHAR(64) NOT NULL"],
  ["receiver_type", "INTEGER NOT NULL DEFAULT 1"],
  ["msg", "TEXT"],
  ["msg_type", "INTEGER NOT NULL"],
  ["chat_time", "VARCHAR(19) NOT NULL"],
  ["show_msg_date_time_flag", "SMALLINT"],
  ["video_path", "TEXT"],
  ["video_width", "INTEGER"],
  ["video_height", "INTEGER"],
  ["video_times", "INTEGER"],
  ["voice_path", "TEXT"],
  ["speak_voice_duration", "INTEGER"],
  ["is_read", "SMALLINT NOT NULL DEFAULT 0"],
  ["client_msg_id", "VARCHAR(64)"],
];

const INDEXES = [
  // (sender_id, client_msg_id) dedupe across instances and restarts; NULLs never conflict.
  "CREATE UNIQUE INDEX IF NOT EXISTS ux_chat_message_client ON chat_message (sender_id, client_msg_id)",
  "CREATE INDEX IF NOT EXISTS ix_chat_message_pair ON chat_message (sender_id, receiver_id, id)",
  "CREATE INDEX IF NOT EXISTS ix_chat_message_receiver ON chat_message (receiver_id, id)",
  "CREATE INDEX IF NOT EXISTS ix_chat_message_sender ON chat_message (sender_id, id)",
];

/**
 * True when a failed write was refused for its data (a value, a constraint), not because the store
 * is unavailable: PostgreSQL SQLSTATE classes 22 (data exception), 23 (integrity constraint) and 54
 * (program limit), SQLite's constraint, size and type errors. Only such a failure is worth splitting
 * the batch for: the rows at fault fail, the others are written.
 */
export function isDataFault(err: unknown): boolean {
  const e = err as { errno?: unknown; code?: unknown } | null;
  if (typeof e?.errno === "string") return /^(22|23|54)/.test(e.errno);
  return typeof e?.code === "string" && /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)/.test(e.code);
}

const SELECT_COLS = `CAST(id AS TEXT) AS id, sender_id, receiver_id, receiver_type, msg, msg_type, chat_time,
  show_msg_date_time_flag, video_path, video_width, video_height, video_times, voice_path,
  speak_voice_duration, is_read, client_msg_id`;

export interface SqlStoreOptions {
  /** `sqlite://relative.db`, `sqlite:///absolute.db`, `sqlite::memory:` or `postgres://…` */
  url: string;
  log: Logger;
  /** Most rows in one INSERT. */
  maxBatch?: number;
}

interface Pending {
  msg: StoredMsg;
  resolve: (r: SaveResult) => void;
  reject: (e: unknown) => void;
}

function openSql(url: string): { sql: SQL; dialect: Dialect; filename?: string } {
  if (url.startsWith("postgres")) return { sql: new SQL(url, { max: 8, idleTimeout: 30 }), dialect: "postgres" };
  if (url === "sqlite::memory:") return { sql: new SQL({ adapter: "sqlite", filename: ":memory:" }), dialect: "sqlite" };
  const rest = url.slice("sqlite://".length);
  const filename = resolve(rest); // sqlite:///abs → "/abs"; sqlite://rel → cwd/rel
  mkdirSync(dirname(filename), { recursive: true });
  return { sql: new SQL({ adapter: "sqlite", filename }), dialect: "sqlite", filename };
}

/** Inserts rows, skipping (sender_id, client_msg_id) already stored; resolves to the ids inserted. */
type RowWriter = (rows: ReturnType<typeof toRow>[]) => Promise<Set<string>>;

function sqlWriter(sql: SQL): RowWriter {
  return async (rows) => {
    const inserted: Array<{ id: string }> = await sql`
      INSERT INTO chat_message ${sql(rows)}
      ON CONFLICT (sender_id, client_msg_id) DO NOTHING
      RETURNING CAST(id AS TEXT) AS id`;
    return new Set(inserted.map((r) => r.id));
  };
}

/**
 * For a SQLite file, one prepared statement run per row inside one transaction (bun:sqlite): the
 * profile showed Bun.SQL re-preparing the multi-row INSERT of every batch size, and half of the
 * sending instance's CPU in it.
 */
function sqliteFileWriter(filename: string): RowWriter & { close(): void } {
  const db = new Database(filename);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA synchronous = NORMAL"); // per connection: as the Bun.SQL one (WAL: durable on process crash)
  const cols = COLUMNS.map(([name]) => name);
  const insert = db.prepare(
    `INSERT INTO chat_message (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})
     ON CONFLICT (sender_id, client_msg_id) DO NOTHING`,
  );
  const writeAll = db.transaction((rows: ReturnType<typeof toRow>[]) => {
    const fresh = new Set<string>();
    for (const row of rows) {
      const values = cols.map((c) => (row as Record<string, unknown>)[c] ?? null) as Array<string | number | null>;
      if (insert.run(...values).changes === 1) fresh.add(row.id);
    }
    return fresh;
  });
  return Object.assign(async (rows: ReturnType<typeof toRow>[]) => writeAll(rows), { close: () => db.close() });
}

function toRow(m: StoredMsg) {
  const flag = (b: boolean | null | undefined) => (b == null ? null : b ? 1 : 0);
  return {
    id: m.msgId,
    sender_id: m.senderId,
    receiver_id: m.receiverId,
    receiver_type: m.communicationType ?? 1,
    msg: m.msg ?? null,
    msg_type: m.msgType,
    chat_time: m.chatTime,
    show_msg_date_time_flag: flag(m.showMsgDateTimeFlag),
    video_path: m.videoPath ?? null,
    video_width: m.videoWidth ?? null,
    video_height: m.videoHeight ?? null,
    video_times: m.videoTimes ?? null,
    voice_path: m.voicePath ?? null,
    speak_voice_duration: m.speakVoiceDuration ?? null,
    is_read: m.isRead ? 1 : 0,
    client_msg_id: m.clientMsgId ?? null,
  };
}

function fromRow(r: any): StoredMsg {
  const msg: StoredMsg = {
    msgId: String(r.id),
    senderId: r.sender_id,
    receiverId: r.receiver_id,
    communicationType: Number(r.receiver_type),
    msg: r.msg,
    msgType: Number(r.msg_type),
    chatTime: r.chat_time,
    isRead: Number(r.is_read) === 1,
  } as StoredMsg;
  if (r.show_msg_date_time_flag != null) msg.showMsgDateTimeFlag = Number(r.show_msg_date_time_flag) === 1;
  if (r.video_path != null) msg.videoPath = r.video_path;
  if (r.video_width != null) msg.videoWidth = Number(r.video_width);
  if (r.video_height != null) msg.videoHeight = Number(r.video_height);
  if (r.video_times != null) msg.videoTimes = Number(r.video_times);
  if (r.voice_path != null) msg.voicePath = r.voice_path;
  if (r.speak_voice_duration != null) msg.speakVoiceDuration = Number(r.speak_voice_duration);
  if (r.client_msg_id != null) msg.clientMsgId = r.client_msg_id;
  return msg;
}

async function migrate(sql: SQL, dialect: Dialect): Promise<void> {
  if (dialect === "sqlite") {
    // Instances sharing one file: wait for the lock instead of failing, then switch to WAL.
    await sql.unsafe("PRAGMA busy_timeout = 5000");
    await sql.unsafe("PRAGMA journal_mode = WAL");
    await sql.unsafe("PRAGMA synchronous = NORMAL");
  }
  const cols = COLUMNS.map(([name, type]) => `${name} ${type}`).join(", ");
  await sql.unsafe(`CREATE TABLE IF NOT EXISTS chat_message (${cols})`);
  const existing: Array<{ name: string }> =
    dialect === "sqlite"
      ? await sql.unsafe("SELECT name FROM pragma_table_info('chat_message')")
      : await sql`SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'chat_message' AND table_schema = current_schema()`;
  const have = new Set(existing.map((c) => c.name));
  for (const [name, type] of COLUMNS) {
    if (!have.has(name)) await sql.unsafe(`ALTER TABLE chat_message ADD COLUMN ${name} ${type.replace(" PRIMARY KEY", "")}`);
  }
  // A seed-lineage table may still have VARCHAR(255) texts: widen them, so that what the edge
  // accepts (MAX_MSG_CHARS, MAX_PATH_CHARS) is stored on PostgreSQL as on SQLite.
  if (dialect === "postgres") {
    await sql.unsafe("ALTER TABLE chat_message ALTER COLUMN msg TYPE TEXT, ALTER COLUMN video_path TYPE TEXT, ALTER COLUMN voice_path TYPE TEXT");
  }
  for (const ddl of INDEXES) await sql.unsafe(ddl);
}

/** Opens the store, creating or migrating the schema. */
export async function createSqlStore(opts: SqlStoreOptions): Promise<MessageStore & { readonly dialect: Dialect; readonly sql: SQL }> {
  const { sql, dialect, filename } = openSql(opts.url);
  const maxBatch = opts.maxBatch ?? 500;
  await migrate(sql, dialect);
  const fileWriter = filename ? sqliteFileWriter(filename) : undefined;
  const writeRows: RowWriter = fileWriter ?? sqlWriter(sql);

  const writes = failureStreak(opts.log, "store.write_failed");
  const refusals = everyInterval(opts.log, "store.row_refused");
  let queue: Pending[] = [];
  let writing: Promise<void> | null = null;
  let closed = false;

  /**
   * Writes a batch; when the store refuses it for its data, splits it in halves until the rows at
   * fault are alone, so one bad row fails only its own sender. A failure of the store itself
   * (connection, timeout) is thrown: every row of the batch fails with it.
   */
  async function writeBatch(batch: Pending[]): Promise<void> {
    let fresh: Set<string>;
    try {
      fresh = await writeRows(batch.map((p) => toRow(p.msg)));
    } catch (err) {
      if (!isDataFault(err)) throw err;
      if (batch.length > 1) {
        const half = batch.length >> 1;
        await writeBatch(batch.slice(0, half));
        return writeBatch(batch.slice(half));
      }
      const reason = (err as Error).message;
      refusals({ msgId: batch[0].msg.msgId, sender: batch[0].msg.senderId, err });
      return batch[0].reject(new StoreRefusedError(`the store cannot hold this message: ${reason}`));
    }
    for (const p of batch) {
      if (fresh.has(p.msg.msgId)) {
        p.resolve({ msgId: p.msg.msgId, chatTime: p.msg.chatTime, duplicate: false });
        continue;
      }
      const [first] = await sql`SELECT CAST(id AS TEXT) AS id, chat_time FROM chat_message
        WHERE sender_id = ${p.msg.senderId} AND client_msg_id = ${p.msg.clientMsgId ?? null}`;
      if (first) p.resolve({ msgId: first.id, chatTime: first.chat_time, duplicate: true });
      else p.reject(new Error("message was neither inserted nor found"));
    }
  }

  // Group commit: while one INSERT runs, later saves gather into the next one.
  function pump(): void {
    if (writing || queue.length === 0) return;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    writing = writeBatch(batch)
      .then(writes.ok)
      .catch((err) => {
        writes.fail({ rows: batch.length, err });
        for (const p of batch) p.reject(err);
      })
      .finally(() => {
        writing = null;
        pump();
      });
  }

  async function drain(): Promise<void> {
    while (writing || queue.length) await (writing ?? Promise.resolve());
  }

  return {
    dialect,
    sql,
    save(msg) {
      if (closed) return Promise.reject(new Error("store is closed"));
      return new Promise<SaveResult>((resolve, reject) => {
        queue.push({ msg, resolve, reject });
        pump();
      });
    },
    async history(a, b, page, pageSize) {
      // A group's history is every message to it; "system" is the broadcasts to everyone or to `a`.
      const [where, params] = isGroupId(b)
        ? ["receiver_id = $1", [b]]
        : b === SYSTEM_SENDER
          ? [`(receiver_id = $1 OR receiver_id = '${EVERYONE}') AND sender_id = $2`, [a, b]]
          : ["(sender_id = $1 AND receiver_id = $2) OR (sender_id = $2 AND receiver_id = $1)", [a, b]];
      const [{ n }] = await sql.unsafe(`SELECT COUNT(*) AS n FROM chat_message WHERE ${where}`, params);
      const k = params.length;
      // Qualified: a bare "id" in ORDER BY is the TEXT alias of SELECT_COLS and sorts "10" before "9".
      const rows = await sql.unsafe(
        `SELECT ${SELECT_COLS} FROM chat_message WHERE ${where}
         ORDER BY chat_message.id DESC LIMIT $${k + 1} OFFSET $${k + 2}`,
        [...params, pageSize, (page - 1) * pageSize],
      );
      return { records: Number(n), rows: rows.map(fromRow).reverse() };
    },
    async after(userId, afterMsgId, limit, alsoTo = []) {
      if (!isMsgId(afterMsgId)) return [];
      // SQLite numbers "$n" parameters in order of first appearance: keep them ascending in the text.
      const extra = alsoTo.map((_, i) => `$${i + 3}`).join(", ");
      const limitParam = `$${alsoTo.length + 3}`;
      const rows = await sql.unsafe(
        `SELECT ${SELECT_COLS} FROM (
           SELECT * FROM chat_message WHERE sender_id = $1 AND id > $2
           UNION ALL
           SELECT * FROM chat_message WHERE receiver_id = $1 AND sender_id <> $1 AND id > $2
           ${extra ? `UNION ALL SELECT * FROM chat_message WHERE receiver_id IN (${extra}) AND sender_id <> $1 AND id > $2` : ""}
         ) AS m ORDER BY m.id LIMIT ${limitParam}`,
        [userId, afterMsgId, ...alsoTo, limit],
      );
      return rows.map(fromRow);
    },
    async get(msgId) {
      if (!isMsgId(msgId)) return undefined;
      const rows = await sql.unsafe(`SELECT ${SELECT_COLS} FROM chat_message WHERE id = $1`, [msgId]);
      return rows.length ? fromRow(rows[0]) : undefined;
    },
    async markRead(msgId) {
      if (!isMsgId(msgId)) return false;
      const res = await sql`UPDATE chat_message SET is_read = 1 WHERE id = ${msgId}`;
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
      await drain();
      fileWriter?.close();
      await sql.close();
    },
  };
}
