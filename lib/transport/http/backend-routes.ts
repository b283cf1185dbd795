// HTTP routes for the app's backend: sending a chat message as a user (/chat/send), with an
// idempotency key, behind the admin token.
import type { Hono } from "hono";
import * as v from "valibot";
import type { SaveResult } from "../../core/ports.ts";
import { adminOnly, HttpError, grace, jsonBody, userParam } from "./respond.ts";

export interface BackendRouteDeps {
  adminToken?: string;
  /** Sends `chatMsg` as `senderId` through the chat core (the checks of a WebSocket frame). */
  sendAs: (senderId: string, chatMsg: unknown) => Promise<SaveResult>;
}

/** What an idempotency key may be: it becomes the message's clientMsgId (`api:` + key, at most 64). */
const KEY = /^[\x21-\x7e]{1,60}$/;
/** The ChatMsg fields a backend sets; the server sets msgId, chatTime and isRead. */
const SendBody = v.looseObject({ senderId: v.string("senderId is required"), receiverId: v.string("receiverId is required") });

export function addBackendRoutes(app: Hono<any>, deps: BackendRouteDeps): void {
  /**
   * `POST /chat/send` `{senderId, receiverId, msg, msgType?, communicationType?, …}` with
   * `Idempotency-Key`: the same key from the same sender is stored and delivered once; a repeat
   * answers with the first message (`duplicate: true`).
   */
  app.post("/chat/send", async (c) => {
    adminOnly(c, deps.adminToken, "sending as a user");
    const key = c.req.header("idempotency-key");
    if (!key) throw new HttpError(400, "header Idempotency-Key is required (1–60 printable ASCII characters): the same key never sends twice");
    if (!KEY.test(key)) throw new HttpError(400, "header Idempotency-Key must be 1–60 printable ASCII characters");
    const body = await jsonBody(c, SendBody);
    const senderId = userParam("senderId", body.senderId);
    // msgId, chatTime and isRead are the server's: the send pipeline sets them whatever is given.
    const saved = await deps.sendAs(senderId, { msgType: 1, ...body, senderId, clientMsgId: `api:${key}` });
    return grace(c, saved);
  });
}
