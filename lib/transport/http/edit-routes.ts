// HTTP routes of recall, edit and delete-for-me: the same rules and pipeline as their WebSocket
// frames (lib/core/edits.ts), for an app's backend or a client between connections.
import type { Context, Hono } from "hono";
import * as v from "valibot";
import type { SaveResult } from "../../core/ports.ts";
import type { EditKind, EditRequest } from "../../protocol/edits.ts";
import { MSG_ID_RULE, isMsgId } from "../../protocol/ids.ts";
import { text } from "../../protocol/values.ts";
import { HttpError, grace, jsonBody, userParam } from "./respond.ts";

export interface EditRouteDeps {
  /** Carries out a request of `userId`; every connection of the audience gets its frame. Throws a Refusal. */
  editAs(userId: string, request: EditRequest): Promise<SaveResult>;
  authEnabled: boolean;
}

const clientMsgId = v.optional(v.pipe(text(64), v.minLength(1, "must not be empty")));
const BODIES = {
  recall: v.object({ clientMsgId }),
  delete: v.object({ clientMsgId }),
  edit: v.object({ msg: v.pipe(v.string("must be a string"), text(Number.MAX_SAFE_INTEGER)), clientMsgId }),
};

export function addEditRoutes(app: Hono<any>, deps: EditRouteDeps): void {
  /** The acting user: the token's with authentication on (`userId`, if given, must be it), else `userId`. */
  const actor = (c: Context): string => {
    const given = c.req.query("userId");
    if (!deps.authEnabled) return userParam("userId", given);
    const caller = c.get("userId") as string;
    if (given !== undefined && given !== caller) throw new HttpError(403, "you may only recall, edit or delete as yourself");
    return caller;
  };
  for (const kind of ["recall", "edit", "delete"] as const satisfies readonly EditKind[]) {
    // POST /chat/message/:msgId/recall?userId=, …/edit {msg}, …/delete; the body is optional but for edit.
    app.post(`/chat/message/:msgId/${kind}`, async (c) => {
      const msgId = c.req.param("msgId");
      if (!isMsgId(msgId)) throw new HttpError(400, `parameter msgId must be ${MSG_ID_RULE}`);
      const userId = actor(c);
      const hasBody = kind === "edit" || (c.req.header("content-length") ?? "0") !== "0" || c.req.header("content-type") !== undefined;
      const body: { msg?: string; clientMsgId?: string } = hasBody ? await jsonBody(c, BODIES[kind]) : {};
      const saved = await deps.editAs(userId, { kind, msgId, ...body } as EditRequest);
      return grace(c, { eventId: saved.msgId, chatTime: saved.chatTime, duplicate: saved.duplicate });
    });
  }
}
