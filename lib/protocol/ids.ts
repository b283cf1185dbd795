// The id classes of the protocol: users, groups, the reserved ids, and message ids.

/**
 * User ids: 1–64 letters or digits of any script, or `_ . @ : + -`. Nothing else reaches a Redis
 * key, a znode, a SQL row or a log line.
 */
export const USER_ID = /^[\p{L}\p{N}_.@:+\-]{1,64}$/u;
export const USER_ID_RULE = "1–64 letters, digits or _ . @ : + -";

/** Group ids are `group:<snowflake>`; user ids starting with the prefix are refused. */
export const GROUP_PREFIX = "group:";
export const GROUP_ID = /^group:\d{1,19}$/;
export const GROUP_ID_RULE = `"${GROUP_PREFIX}" and 1–19 digits`;
/** The sender of system broadcasts; its messages are stored with receiverId EVERYONE. */
export const SYSTEM_SENDER = "system";
/** The receiver of system broadcasts (never accepted from a client). */
export const EVERYONE = "*";

export const isGroupId = (id: string) => id.startsWith(GROUP_PREFIX);

/** Why `id` cannot be a user of its own (bound to a connection, owning a group), or undefined. */
export function userIdProblem(id: string | null | undefined): string | undefined {
  if (!id || !USER_ID.test(id)) return `a user id (${USER_ID_RULE}) is required`;
  if (id === SYSTEM_SENDER || isGroupId(id)) return `"${SYSTEM_SENDER}" and ids starting with "${GROUP_PREFIX}" are reserved`;
  return undefined;
}

/** Why `id` cannot receive a chat message from a client (a user or a group), or undefined. */
export function receiverIdProblem(id: string | null | undefined): string | undefined {
  if (id && isGroupId(id)) return GROUP_ID.test(id) ? undefined : `a group id is ${GROUP_ID_RULE}`;
  if (id === SYSTEM_SENDER) return `"${SYSTEM_SENDER}" is reserved: nobody can read messages sent to it`;
  return userIdProblem(id);
}

/** Message ids are snowflakes: decimal, within a signed 64-bit integer (the store's BIGINT, Java's Long). */
const MAX_MSG_ID = 9223372036854775807n;
export const MSG_ID_RULE = "a decimal message id (at most 9223372036854775807)";

/** True when `id` is a decimal string a message id can have. */
export function isMsgId(id: string | null | undefined): id is string {
  return typeof id === "string" && /^\d{1,19}$/.test(id) && (id.length < 19 || BigInt(id) <= MAX_MSG_ID);
}
