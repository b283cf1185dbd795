// The reads of chat_message as SQL text and parameters, apart from running them, so that a test can
// ask each database for its plan (test/store/query-plans.test.ts: every query is served by an index).
import { EVERYONE, SYSTEM_SENDER, isGroupId } from "../../protocol/ids.ts";
import { countsUnreadFor, shownTo } from "./edits.ts";
import { SELECT_COLS } from "./rows.ts";

export type Query = [text: string, params: unknown[]];

/**
 * A conversation's page (`page` 1 newest) and its size: both directions between two users; with a
 * group id as `b` every message to the group; with "system" the broadcasts `a` got.
 */
export function historyQueries(a: string, b: string, page: number, pageSize: number): { count: Query; page: Query } {
  // Messages only, none `a` deleted for itself (lib/adapters/sql/edits.ts); parameters ascending in the text.
  const [where, params] = isGroupId(b)
    ? [`receiver_id = $1 AND ${shownTo("$2")}`, [b, a]]
    : b === SYSTEM_SENDER
      ? [`(receiver_id = $1 OR receiver_id = '${EVERYONE}') AND sender_id = $2 AND ${shownTo("$1")}`, [a, b]]
      : [`((sender_id = $1 AND receiver_id = $2) OR (sender_id = $2 AND receiver_id = $1)) AND ${shownTo("$1")}`, [a, b]];
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

/**
 * What `userId` lacks in each of its timelines — its own (`userId`: 1:1 messages to it and all it
 * sent) and each of `alsoTo` (its groups, everyone): after the position `positions` gives for a
 * timeline, or for a timeline without one, after `afterMsgId` (when given; otherwise nothing of
 * it). Oldest id first, at most `limit` rows; a message of a group the user sent comes in both its
 * timelines (the caller drops the second by msgId).
 */
export function sinceQuery(userId: string, alsoTo: readonly string[], positions: Readonly<Record<string, number>>, afterMsgId: string | undefined, limit: number): Query {
  const params: unknown[] = [];
  // SQLite numbers "$n" parameters in order of first appearance: each use is a parameter of its own.
  const p = (value: unknown) => (params.push(value), `$${params.length}`);
  const branches: string[] = [];
  const from = "SELECT * FROM chat_message WHERE";
  const own = positions[userId];
  if (own !== undefined) {
    branches.push(`${from} receiver_id = ${p(userId)} AND receiver_seq > ${p(own)}`, `${from} sender_id = ${p(userId)} AND sender_seq > ${p(own)}`);
  } else if (afterMsgId !== undefined) {
    branches.push(
      `${from} sender_id = ${p(userId)} AND id > ${p(afterMsgId)}`,
      `${from} receiver_id = ${p(userId)} AND sender_id <> ${p(userId)} AND id > ${p(afterMsgId)}`,
    );
  }
  for (const t of alsoTo) {
    const at = positions[t];
    if (at !== undefined) branches.push(`${from} receiver_id = ${p(t)} AND receiver_seq > ${p(at)}`);
    else if (afterMsgId !== undefined) branches.push(`${from} receiver_id = ${p(t)} AND sender_id <> ${p(userId)} AND id > ${p(afterMsgId)}`);
  }
  if (!branches.length) branches.push(`${from} 1 = 0`);
  return [`SELECT ${SELECT_COLS} FROM (${branches.join(" UNION ALL ")}) AS m ORDER BY m.id LIMIT ${p(limit)}`, params];
}

/** The last position given in each of `timelines` (a timeline not listed has none yet). */
export const topsQuery = (timelines: readonly string[]): Query => [
  `SELECT timeline_id, CAST(seq AS TEXT) AS seq FROM im_seq WHERE timeline_id IN (${timelines.map((_, i) => `$${i + 1}`).join(", ")})`,
  [...timelines],
];

export const getQuery = (msgId: string): Query => [`SELECT ${SELECT_COLS} FROM chat_message WHERE id = $1`, [msgId]];

/** The first message of a (sender, clientMsgId): what a resend is answered with. */
export const firstOfQuery = (senderId: string, clientMsgId: string | null): Query => [
  "SELECT CAST(id AS TEXT) AS id, chat_time, receiver_id, receiver_seq, sender_seq FROM chat_message WHERE sender_id = $1 AND client_msg_id = $2",
  [senderId, clientMsgId],
];

export const markReadQuery = (msgId: string): Query => ["UPDATE chat_message SET is_read = 1 WHERE id = $1", [msgId]];

/**
 * A user's conversations, newest first: each peer's newest message either way and each of
 * `groupIds`' newest; `page` gives (cid, last_id, n = how many in all), `count` how many. Served
 * by the pair index (sender_id, receiver_id, id) and the receiver index (receiver_id, id).
 */
export function conversationQueries(userId: string, groupIds: readonly string[], page: number, pageSize: number): { page: Query; count: Query } {
  const groups = groupIds.map((_, i) => `$${i + 2}`).join(", ");
  const convs = `WITH last AS (
      SELECT receiver_id AS cid, MAX(id) AS last_id FROM chat_message
        WHERE sender_id = $1 AND receiver_id <> '${EVERYONE}' AND receiver_id NOT LIKE 'group:%' GROUP BY receiver_id
      UNION ALL
      SELECT sender_id AS cid, MAX(id) AS last_id FROM chat_message
        WHERE receiver_id = $1 AND sender_id <> '${SYSTEM_SENDER}' GROUP BY sender_id
      ${groups ? `UNION ALL SELECT receiver_id AS cid, MAX(id) AS last_id FROM chat_message WHERE receiver_id IN (${groups}) GROUP BY receiver_id` : ""}
    ), convs AS (SELECT cid, MAX(last_id) AS last_id FROM last GROUP BY cid)`;
  const k = groupIds.length + 1;
  return {
    page: [
      `${convs} SELECT cid, CAST(last_id AS TEXT) AS last_id, COUNT(*) OVER () AS n FROM convs ORDER BY convs.last_id DESC LIMIT $${k + 1} OFFSET $${k + 2}`,
      [userId, ...groupIds, pageSize, (page - 1) * pageSize],
    ],
    count: [`${convs} SELECT COUNT(*) AS n FROM convs`, [userId, ...groupIds]],
  };
}

/** Messages by id (the newest of each conversation of a page). */
export const byIdsQuery = (ids: readonly string[]): Query => [`SELECT ${SELECT_COLS} FROM chat_message WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(", ")})`, [...ids]];

/**
 * How many messages to `groupId` after `afterMsgId` others than `userId` sent, counted up to `cap`
 * (a member's unread, recomputed from its read position): no recall/edit/delete event rows, no
 * recalled message, none it deleted for itself. Served by the receiver index.
 */
export const groupUnreadQuery = (groupId: string, userId: string, afterMsgId: string, cap: number): Query => [
  `SELECT COUNT(*) AS n FROM (
     SELECT 1 AS one FROM chat_message WHERE receiver_id = $1 AND id > $2 AND sender_id <> $3 AND ${countsUnreadFor("$3")} LIMIT $4
   ) AS m`,
  [groupId, afterMsgId, userId, cap],
];

/** The distinct senders of the newest `cap` messages to `groupId` in (`afterMsgId`, `uptoMsgId`]: who a read receipt goes to. */
export const groupSendersQuery = (groupId: string, afterMsgId: string, uptoMsgId: string, cap: number): Query => [
  `SELECT DISTINCT m.sender_id FROM (
     SELECT sender_id FROM chat_message WHERE receiver_id = $1 AND id > $2 AND id <= $3 ORDER BY chat_message.id DESC LIMIT $4
   ) AS m`,
  [groupId, afterMsgId, uptoMsgId, cap],
];
