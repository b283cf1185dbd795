// The chat_message table: its columns and indexes, opening a database, and migrating an older table.
import { SQL } from "bun";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SEQ_TABLE_DDL } from "./timelines.ts";
import { HIDDEN_TABLE } from "./edits.ts";

export type Dialect = "sqlite" | "postgres";

/** Column name → SQL type; `id` first. Columns are added to an older table on start. */
export const COLUMNS: ReadonlyArray<readonly [string, string]> = [
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
  // Recall and edit (lib/adapters/sql/edits.ts): an event row's target; a message's state
  // (1 edited, 2 recalled) and the event that set it.
  ["ref_id", "BIGINT"],
  ["edit_state", "SMALLINT"],
  ["edit_id", "BIGINT"],
  // Positions in the receiver's and the sender's timelines (lib/adapters/sql/timelines.ts).
  ["receiver_seq", "BIGINT"],
  ["sender_seq", "BIGINT"],
];

const INDEXES = [
  // (sender_id, client_msg_id) dedupe across instances and restarts; NULLs never conflict.
  "CREATE UNIQUE INDEX IF NOT EXISTS ux_chat_message_client ON chat_message (sender_id, client_msg_id)",
  "CREATE INDEX IF NOT EXISTS ix_chat_message_pair ON chat_message (sender_id, receiver_id, id)",
  "CREATE INDEX IF NOT EXISTS ix_chat_message_receiver ON chat_message (receiver_id, id)",
  "CREATE INDEX IF NOT EXISTS ix_chat_message_sender ON chat_message (sender_id, id)",
  // Replay by position: a timeline's messages after the position a client holds.
  "CREATE INDEX IF NOT EXISTS ix_chat_message_receiver_seq ON chat_message (receiver_id, receiver_seq)",
  "CREATE INDEX IF NOT EXISTS ix_chat_message_sender_seq ON chat_message (sender_id, sender_seq)",
];

/** Opens `url`; a SQLite file's folder is created. `filename` is set for a SQLite file. */
export function openSql(url: string): { sql: SQL; dialect: Dialect; filename?: string } {
  if (url.startsWith("postgres")) return { sql: new SQL(url, { max: 8, idleTimeout: 30 }), dialect: "postgres" };
  if (url === "sqlite::memory:") return { sql: new SQL({ adapter: "sqlite", filename: ":memory:" }), dialect: "sqlite" };
  const rest = url.slice("sqlite://".length);
  const filename = resolve(rest); // sqlite:///abs → "/abs"; sqlite://rel → cwd/rel
  mkdirSync(dirname(filename), { recursive: true });
  return { sql: new SQL({ adapter: "sqlite", filename }), dialect: "sqlite", filename };
}

/** Creates the table and indexes, or brings an older table (the seed lineage's) up to date. */
export async function migrate(sql: SQL, dialect: Dialect): Promise<void> {
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
  await sql.unsafe(SEQ_TABLE_DDL);
  await sql.unsafe(HIDDEN_TABLE);
}

