// A SQLite file's writes: checkpoints on a thread of their own (lib/adapters/sql/checkpointer.ts)
// and commits spaced by the group commit's minimum gap (lib/adapters/sql/writer.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { createSnowflake } from "../../lib/protocol/snowflake.ts";
import { createSqlStore } from "../../lib/adapters/sql/store.ts";
import { startCheckpointer } from "../../lib/adapters/sql/checkpointer.ts";
import { createGroupCommit } from "../../lib/adapters/sql/writer.ts";
import { sqliteThreadWriter } from "../../lib/adapters/sql/writer-thread.ts";
import { toRow } from "../../lib/adapters/sql/rows.ts";
import type { Logger } from "../../lib/log.ts";
import type { StoredMsg } from "../../lib/core/ports.ts";
import { eventually } from "../support/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "im-sqlite-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ids = createSnowflake(78);
const msg = (i: number): StoredMsg => ({ msgId: ids.next(), senderId: `s${i % 50}`, receiverId: `r${i % 50}`, msgType: 1, msg: `m${i}`, chatTime: "2024-01-05 03:04:09" });

/** Rows in the database file alone, as a copy without its WAL sees them: what was checkpointed. */
function rowsInMainFile(file: string, n: number): number {
  const copy = join(dir, `copy-${n}.db`);
  copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    return (db.query("SELECT COUNT(*) AS n FROM chat_message").get() as { n: number }).n;
  } catch {
    return 0; // not even the table is in the file yet
  } finally {
    db.close();
  }
}

describe("SQLite file store", () => {
  test("the writer does not checkpoint on commit; the checkpointer thread moves every row into the database file", async () => {
    const file = join(dir, "chat.db");
    const store = await createSqlStore({ url: `sqlite://${file}`, log: silentLogger });
    try {
      await Promise.all(Array.from({ length: 3000 }, (_, i) => store.save(msg(i))));
      let copies = 0;
      const checkpointed = await eventually(() => rowsInMainFile(file, ++copies) === 3000, 5000, 100);
      expect(checkpointed).toBe(true);
      expect(await store.history("s1", "r1", 1, 10)).toMatchObject({ records: 60 });
    } finally {
      await store.close();
    }
  });

  test("rows are written on the writer thread: the event loop runs a timer while 2,000 rows are written", async () => {
    const file = join(dir, "thread.db");
    const store = await createSqlStore({ url: `sqlite://${file}`, log: silentLogger });
    await store.close();
    const writer = sqliteThreadWriter(file, silentLogger);
    try {
      await writer([toRow(msg(0))]); // the thread is up
      const pending = writer(Array.from({ length: 2000 }, (_, i) => toRow(msg(i + 1))));
      // While the thread writes 2,000 rows, the event loop stays free: a timer still fires first.
      const order: string[] = [];
      await Promise.all([pending.then(() => order.push("written")), Bun.sleep(0).then(() => order.push("timer"))]);
      expect(order[0]).toBe("timer");
      expect((await pending).size).toBe(2000);
    } finally {
      await writer.close();
    }
    const db = new Database(file, { readonly: true });
    expect((db.query("SELECT COUNT(*) AS n FROM chat_message").get() as { n: number }).n).toBe(2001);
    db.close();
  });

  test("a writer thread that dies fails only the batch under way; later rows are written on the event loop", async () => {
    const file = join(dir, "dying.db");
    const store = await createSqlStore({ url: `sqlite://${file}`, log: silentLogger });
    await store.close();
    const lines: string[] = [];
    const log: Logger = { ...silentLogger, warn: (event) => void lines.push(event) };
    const writer = sqliteThreadWriter(file, log, new URL("./fixtures/dying-writer.ts", import.meta.url).href);
    try {
      const first = writer([toRow(msg(0))]);
      await expect(first).rejects.toThrow("writer thread stopped");
      expect(lines.join("\n")).toContain("store.writer_thread_stopped");
      expect((await writer([toRow(msg(1)), toRow(msg(2))])).size).toBe(2);
    } finally {
      await writer.close();
    }
    const db = new Database(file, { readonly: true });
    expect((db.query("SELECT COUNT(*) AS n FROM chat_message").get() as { n: number }).n).toBe(2);
    db.close();
  });

  test("a checkpointer that cannot open its file hands checkpoints back to the writers", async () => {
    let fellBack = 0;
    const cp = startCheckpointer(join(dir, "no-such-dir", "x.db"), silentLogger, () => fellBack++, 20);
    try {
      expect(await eventually(() => fellBack > 0, 10_000)).toBe(true);
      expect(fellBack).toBe(1);
    } finally {
      cp.stop();
    }
  });
});

/** A group commit whose writer only records each batch's size. */
function recordingCommit(minGapMs?: number) {
  const batches: number[] = [];
  const commit = createGroupCommit({
    writeRows: async (rows) => {
      batches.push(rows.length);
      return new Map(rows.map((r, i) => [r.id, [i + 1, null] as const]));
    },
    firstOf: async () => undefined,
    log: silentLogger,
    maxBatch: 100,
    minGapMs,
  });
  return { batches, commit };
}

describe("positions in a SQLite file two instances share", () => {
  test("each store's writer thread keeps its counters only while the other wrote nothing: every timeline's positions are 1..n, none twice, none missing", async () => {
    const file = join(dir, "shared-positions.db");
    const [a, b] = [await createSqlStore({ url: `sqlite://${file}`, log: silentLogger }), await createSqlStore({ url: `sqlite://${file}`, log: silentLogger })];
    try {
      const sent: Array<Promise<unknown>> = [];
      // Interleaved: a batch of one store, then the other's, to the same three receivers from the same senders.
      for (let round = 0; round < 20; round++) {
        const store = round % 2 ? b : a;
        for (let i = 0; i < 15; i++) sent.push(store.save({ ...msg(i), receiverId: `r${i % 3}`, senderId: `s${i % 2}`, clientMsgId: `c${round}-${i}` }));
        await Promise.all(sent.slice(-15));
      }
      // And some at once from both.
      for (let i = 0; i < 100; i++) sent.push((i % 2 ? a : b).save({ ...msg(i), receiverId: `r${i % 3}`, senderId: `s${i % 2}`, clientMsgId: `x${i}` }));
      await Promise.all(sent);
      const db = new Database(file, { readonly: true });
      try {
        for (const t of ["r0", "r1", "r2", "s0", "s1"]) {
          const rows = db.query("SELECT receiver_seq AS n FROM chat_message WHERE receiver_id = ? UNION ALL SELECT sender_seq FROM chat_message WHERE sender_id = ?").all(t, t) as Array<{ n: number }>;
          const got = rows.map((r) => r.n).sort((x, y) => x - y);
          expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
          expect((db.query("SELECT seq FROM im_seq WHERE timeline_id = ?").get(t) as { seq: number }).seq).toBe(got.length);
        }
      } finally {
        db.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);
});

describe("group commit gap", () => {
  test("saves that arrive within minGapMs of a batch's start go together in the next batch", async () => {
    const { batches, commit } = recordingCommit(300);
    const first = commit.save(msg(0));
    await first; // batch 1 written; the next may start 300 ms after it did
    const rest = [];
    for (let i = 1; i <= 3; i++) {
      rest.push(commit.save(msg(i)));
      await new Promise((r) => setImmediate(r)); // each in a turn of its own
    }
    await Promise.all(rest);
    expect(batches).toEqual([1, 3]);
  });

  test("without a gap each turn's saves are a batch of their own", async () => {
    const { batches, commit } = recordingCommit();
    for (let i = 0; i < 3; i++) {
      await commit.save(msg(i));
    }
    expect(batches).toEqual([1, 1, 1]);
  });
});
