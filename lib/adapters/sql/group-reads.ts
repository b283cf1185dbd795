// Read positions of group members (chat_group_read, beside the group tables) and the reads of
// chat_message they need: a member's unread after its position, the senders a receipt goes to.
import type { SQL } from "bun";
import type { GroupReads } from "../../core/ports.ts";
import { groupSendersQuery, groupUnreadQuery } from "./queries.ts";

/** The table of positions: one row per (group, member) that read something; msg_id only grows. */
export const GROUP_READ_DDL = `CREATE TABLE IF NOT EXISTS chat_group_read (
  group_id VARCHAR(64) NOT NULL, user_id VARCHAR(64) NOT NULL, msg_id BIGINT NOT NULL, PRIMARY KEY (group_id, user_id))`;

/** The positions over `sql` (the table is created by createSqlGroups). Every statement is parameterised. */
export function sqlGroupReads(sql: SQL): GroupReads {
  return {
    async advance(groupId, userId, msgId) {
      const [before] = await sql`SELECT CAST(msg_id AS TEXT) AS msg_id FROM chat_group_read WHERE group_id = ${groupId} AND user_id = ${userId}`;
      // The WHERE of the upsert keeps it monotonic even when two devices of the member race.
      const moved = await sql`INSERT INTO chat_group_read (group_id, user_id, msg_id) VALUES (${groupId}, ${userId}, ${msgId})
        ON CONFLICT (group_id, user_id) DO UPDATE SET msg_id = excluded.msg_id WHERE chat_group_read.msg_id < excluded.msg_id
        RETURNING group_id`;
      return { moved: moved.length > 0, previous: before?.msg_id ?? undefined };
    },
    async positions(groupId) {
      const rows = await sql`SELECT user_id, CAST(msg_id AS TEXT) AS msg_id FROM chat_group_read WHERE group_id = ${groupId}`;
      return new Map(rows.map((r: any) => [r.user_id as string, r.msg_id as string]));
    },
    async unreadAfter(groupId, userId, afterMsgId, cap) {
      const [{ n }] = await sql.unsafe(...groupUnreadQuery(groupId, userId, afterMsgId ?? "0", cap));
      return Number(n);
    },
    async sendersBetween(groupId, afterMsgId, uptoMsgId, cap) {
      const rows = await sql.unsafe(...groupSendersQuery(groupId, afterMsgId ?? "0", uptoMsgId, cap));
      return rows.map((r: any) => r.sender_id as string);
    },
  };
}
