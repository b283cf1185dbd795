// The conversation list: a user's 1:1 conversations and groups, newest first, each with its newest
// message and the unread count of the seed's counters (`chat_msg_list:<user>`, field peer or group).
import type { GroupStore, MessageStore, StoredMsg, UnreadCounters } from "./ports.ts";

export interface ConversationsDeps {
  store: Pick<MessageStore, "conversations">;
  groups: Pick<GroupStore, "groupsOf">;
  unread: Pick<UnreadCounters, "get">;
}

/** One row of the list: `type` 1 for a peer, 2 for a group (the ChatMsg `communicationType`). */
export interface ConversationRow {
  conversationId: string;
  type: 1 | 2;
  /** Its newest message, as history shows it. */
  lastMsg: StoredMsg;
  /** `lastMsg.chatTime`. */
  lastTime: string;
  unread: number;
  /** A group's name. */
  name?: string;
}

/** Page `page` (1 = newest) of `userId`'s conversations: `{page, total (pages), records, rows}` as /chat/list pages. */
export async function listConversations(deps: ConversationsDeps, userId: string, page: number, pageSize: number) {
  const groups = await deps.groups.groupsOf(userId);
  const names = new Map(groups.map((g) => [g.groupId, g.name]));
  const [{ records, rows }, counts] = await Promise.all([
    deps.store.conversations(userId, groups.map((g) => g.groupId), page, pageSize),
    deps.unread.get(userId),
  ]);
  const list: ConversationRow[] = rows.map(({ conversationId, last }) => {
    const group = names.get(conversationId);
    const row: ConversationRow = { conversationId, type: group !== undefined ? 2 : 1, lastMsg: last, lastTime: last.chatTime, unread: counts[conversationId] ?? 0 };
    if (group !== undefined) row.name = group;
    return row;
  });
  return { page, total: Math.ceil(records / pageSize), records, rows: list };
}
