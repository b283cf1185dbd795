// The reads of chat_message as SQL text and parameters, apart from running them, so that a test can
// ask each database for its plan (test/store/query-plans.test.ts: every query is served by an index).
import { EVERYONE, SYSTEM_SENDER, isGroupId } from "../../protocol/ids.ts";
import { SELECT_COLS } from "./rows.ts";

export type Query = [text: string, params: unknown[]];

/**
 * A conversation's page (`page` 1 newest) and its size: both directions between two users; with a
 * group id as `b` every message to the group; with "system" the broadcasts `a` got.
 */
export function historyQueries(a: string, b: string, page: number, pageSize: number): { count: Query; page: Query } {
  const [where, params] = isGroupId(b)
    ? ["receiver_id = $1", [b]]
    : b === SYSTEM_SENDER
      ? [`(receiver_id = $1 OR receiver_id = '${EVERYONE}') AND sender_id = $2`, [a, b]]
      : ["(sender_id = $1 AND receiver_id = $2) OR (sender_id = $2 AND receiver_id = $1)", [a, b]];
  const k = params.length;
  return {
    count: [`SELECT COUNT(*) AS n FROM chat_message WHERE ${where}`, params],
    // Qualified: a bare "id" in ORDER BY is the TEXT alias of SELECT_COLS and sorts "10" before "9".
    page: [
      `SELECT ${SELECT_COLS} FROM chat_message WHERE ${where}
       ORDER BY chat_message.id DESC LIMIT $${k + 1} OFFSET $${k + 2}`,
      [...params, pageSize, (page - 1) * pageSize],
    ],
  };
}

/** What `userId` sent or got (and what others sent to `alsoTo`) after `afterMsgId`, oldest first. */
export function afterQuery(userId: string, afterMsgId: string, limit: number, alsoTo: readonly string[] = []): Query {
  // SQLite numbers "$n" parameters in order of first appearance: keep them ascending in the text.
  const extra = alsoTo.map((_, i) => `$${i + 3}`).join(", ");
  return [
    `SELECT ${SELECT_COLS} FROM (
       SELECT * FROM chat_message WHERE sender_id = $1 AND id > $2
       UNION ALL
       SELECT * FROM chat_message WHERE receiver_id = $1 AND sender_id <> $1 AND id > $2
       ${extra ? `UNION ALL SELECT * FROM chat_message WHERE receiver_id IN (${extra}) AND sender_id <> $1 AND id > $2` : ""}
     ) AS m ORDER BY m.id LIMIT $${alsoTo.length + 3}`,
    [userId, afterMsgId, ...alsoTo, limit],
  ];
}

export const getQuery = (msgId: string): Query => [`SELECT ${SELECT_COLS} FROM chat_message WHERE id = $1`, [msgId]];

/** The first message of a (sender, clientMsgId): what a resend is answered with. */
export const firstOfQuery = (senderId: string, clientMsgId: string | null): Query => [
  "SELECT CAST(id AS TEXT) AS id, chat_time FROM chat_message WHERE sender_id = $1 AND client_msg_id = $2",
  [senderId, clientMsgId],
];

export const markReadQuery = (msgId: string): Query => ["UPDATE chat_message SET is_read = 1 WHERE id = $1", [msgId]];
