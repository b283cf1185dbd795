// Groups in the SQL store: chat_group, chat_group_member and the members' read positions
// (chat_group_read, lib/adapters/sql/group-reads.ts), created on start.
import type { SQL } from "bun";
import type { Group, GroupReads, GroupStore } from "../../core/ports.ts";
import { GROUP_READ_DDL, sqlGroupReads } from "./group-reads.ts";

const DDL = [
  `CREATE TABLE IF NOT EXISTS chat_group (
     group_id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, owner_id VARCHAR(64) NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS chat_group_member (
     group_id VARCHAR(64) NOT NULL, user_id VARCHAR(64) NOT NULL, PRIMARY KEY (group_id, user_id))`,
  "CREATE INDEX IF NOT EXISTS ix_chat_group_member_user ON chat_group_member (user_id)",
  GROUP_READ_DDL,
];

const toGroup = (r: any): Group => ({ groupId: r.group_id, name: r.name, ownerId: r.owner_id });

/** The groups and their members' read positions, over one connection. */
export type SqlGroups = GroupStore & GroupReads;

/** Creates the tables if missing; every statement is parameterised. */
export async function createSqlGroups(sql: SQL): Promise<SqlGroups> {
  for (const ddl of DDL) await sql.unsafe(ddl);
  const insertMembers = async (tx: SQL, groupId: string, userIds: readonly string[]) => {
    const rows = [...new Set(userIds)].map((user_id) => ({ group_id: groupId, user_id }));
    if (rows.length) await tx`INSERT INTO chat_group_member ${tx(rows)} ON CONFLICT (group_id, user_id) DO NOTHING`;
  };
  return {
    ...sqlGroupReads(sql),
    async create(group, members) {
      await sql.begin(async (tx) => {
        await tx`INSERT INTO chat_group (group_id, name, owner_id) VALUES (${group.groupId}, ${group.name}, ${group.ownerId})`;
        await insertMembers(tx, group.groupId, [group.ownerId, ...members]);
      });
    },
    async get(groupId) {
      const [row] = await sql`SELECT group_id, name, owner_id FROM chat_group WHERE group_id = ${groupId}`;
      return row ? toGroup(row) : undefined;
    },
    async members(groupId) {
      const rows = await sql`SELECT user_id FROM chat_group_member WHERE group_id = ${groupId} ORDER BY user_id`;
      return rows.map((r: any) => r.user_id);
    },
    addMembers: (groupId, userIds) => insertMembers(sql, groupId, userIds),
    async removeMembers(groupId, userIds) {
      for (const userId of new Set(userIds)) {
        await sql`DELETE FROM chat_group_member WHERE group_id = ${groupId} AND user_id = ${userId}`;
        await sql`DELETE FROM chat_group_read WHERE group_id = ${groupId} AND user_id = ${userId}`; // a member again reads from the start
      }
    },
    async groupsOf(userId) {
      const rows = await sql`SELECT g.group_id, g.name, g.owner_id FROM chat_group g
        JOIN chat_group_member m ON m.group_id = g.group_id WHERE m.user_id = ${userId} ORDER BY g.group_id`;
      return rows.map(toGroup);
    },
  };
}
