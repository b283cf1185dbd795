// The seed's chat routes: history, unread counters, read receipts.
import type { Context, Hono } from "hono";
import type { GroupStore, MessageStore, UnreadCounters } from "../../core/ports.ts";
import { GROUP_ID, GROUP_ID_RULE, MSG_ID_RULE, SYSTEM_SENDER, isGroupId, isMsgId } from "../../protocol/ids.ts";
import { HttpError, grace, intParam, userParam } from "./respond.ts";

export interface ChatRouteDeps {
  store: Pick<MessageStore, "history">;
  unread: Pick<UnreadCounters, "get" | "clear">;
  groups: Pick<GroupStore, "members">;
  /** Marks a message read by `signer` and tells its sender (the rule of lib/core/receipts.ts). */
  sign(msgId: string, signer: string | undefined): Promise<void>;
  authEnabled: boolean;
}

export function addChatRoutes(app: Hono<any>, deps: ChatRouteDeps): void {
  const caller = (c: Context): string | undefined => c.get("userId");
  /** With authentication on, refuses callers other than `owners`. */
  const ownOnly = (c: Context, ...owners: string[]) => {
    const who = caller(c);
    if (deps.authEnabled && (!who || !owners.includes(who))) throw new HttpError(403, "you may only read and change your own conversations and counters");
  };

  app.post("/chat/list/:senderId/:receiverId", async (c) => {
    const a = userParam("senderId", c.req.param("senderId"));
    const b = userParam("receiverId", c.req.param("receiverId"));
    if (isGroupId(b) && !GROUP_ID.test(b)) throw new HttpError(400, `parameter receiverId: a group id is ${GROUP_ID_RULE}`);
    const page = intParam("page", c.req.query("page"), 1, 1, 1_000_000);
    const pageSize = intParam("pageSize", c.req.query("pageSize"), 20, 1, 200);
    if (isGroupId(b) || b === SYSTEM_SENDER) {
      // A group's history is for its members; the broadcasts for anyone (as themselves).
      ownOnly(c, a);
      if (isGroupId(b) && deps.authEnabled && !(await deps.groups.members(b)).includes(a)) throw new HttpError(403, `you are not a member of ${b}`);
    } else ownOnly(c, a, b);
    const { records, rows } = await deps.store.history(a, b, page, pageSize);
    return grace(c, { page, total: Math.ceil(records / pageSize), records, rows });
  });

  app.post("/chat/getMyUnReadCounts", async (c) => {
    const myId = userParam("myId", c.req.query("myId"));
    ownOnly(c, myId);
    return grace(c, await deps.unread.get(myId));
  });

  app.post("/chat/clearMyUnReadCounts", async (c) => {
    const myId = userParam("myId", c.req.query("myId"));
    const oppositeId = userParam("oppositeId", c.req.query("oppositeId"));
    ownOnly(c, myId);
    await deps.unread.clear(myId, oppositeId);
    return grace(c, null);
  });

  // The same rule as SIGNED over WebSocket: the receiver (a member, for a group) signs, and the
  // sender's connections get the receipt. Without authentication the caller is trusted.
  app.post("/chat/signRead/:msgId", async (c) => {
    const msgId = c.req.param("msgId");
    if (!isMsgId(msgId)) throw new HttpError(400, `parameter msgId must be ${MSG_ID_RULE}`);
    await deps.sign(msgId, deps.authEnabled ? caller(c) : undefined);
    return grace(c, null);
  });
}
