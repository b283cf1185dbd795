// Recall, edit and delete-for-me in SQL: the state a recall or edit leaves on its message, and the
// table of messages each user deleted for itself. The event rows themselves are chat_message rows
// written by the store's writer like any message (lib/core/edits.ts).
import type { EditChange } from "../../core/ports.ts";
import { EventType } from "../../protocol/edits.ts";

/** SQL text and its parameters (the shape of queries.ts's Query, which imports this file's shownTo). */
type Query = [text: string, params: unknown[]];

/** chat_message.edit_state of an edited message. */
export const EDITED = 1;
/** chat_message.edit_state of a recalled one. */
export const RECALLED = 2;

/** What each user deleted for itself; its key serves the history's probe (user, message). */
export const HIDDEN_TABLE = `CREATE TABLE IF NOT EXISTS chat_message_hidden (
  user_id VARCHAR(64) NOT NULL, msg_id BIGINT NOT NULL, PRIMARY KEY (user_id, msg_id))`;

/** A history's condition: messages only (no event rows), and none the user `userParam` deleted for itself. */
export const shownTo = (userParam: string) =>
  `chat_message.msg_type < ${EventType.RECALL} AND NOT EXISTS (SELECT 1 FROM chat_message_hidden h WHERE h.user_id = ${userParam} AND h.msg_id = chat_message.id)`;

/** An unread count's condition: a message (no event row) not recalled, that `userParam` did not delete for itself. */
export const countsUnreadFor = (userParam: string) =>
  `(chat_message.edit_state IS NULL OR chat_message.edit_state <> ${RECALLED}) AND ${shownTo(userParam)}`;

// SQLite numbers "$n" parameters in order of first appearance: each statement names them ascending.
/**
 * A recall empties the message and sets it recalled, whatever it was (once: a second recall changes
 * nothing, so that its count of changed rows says whether this one recalled it); an edit replaces the text
 * unless the message was recalled or a later edit was applied already.
 */
export function applyEditQuery(change: EditChange): Query {
  if (change.recall) {
    return [
      `UPDATE chat_message SET edit_state = ${RECALLED}, edit_id = $1, msg = '', video_path = NULL, voice_path = NULL
       WHERE id = $2 AND (edit_state IS NULL OR edit_state <> ${RECALLED})`,
      [change.eventId, change.msgId],
    ];
  }
  return [
    `UPDATE chat_message SET edit_state = ${EDITED}, edit_id = $1, msg = $2
     WHERE id = $3 AND (edit_state IS NULL OR edit_state = ${EDITED}) AND (edit_id IS NULL OR edit_id < $1)`,
    [change.eventId, change.msg, change.msgId],
  ];
}

export const hideQuery = (userId: string, msgId: string): Query => [
  "INSERT INTO chat_message_hidden (user_id, msg_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
  [userId, msgId],
];

/** Which of `msgIds` `userId` deleted for itself. */
export const hiddenAmongQuery = (userId: string, msgIds: readonly string[]): Query => [
  `SELECT CAST(msg_id AS TEXT) AS id FROM chat_message_hidden WHERE user_id = $1 AND msg_id IN (${msgIds.map((_, i) => `$${i + 2}`).join(", ")})`,
  [userId, ...msgIds],
];
