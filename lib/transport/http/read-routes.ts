// HTTP routes of group read state: mark a group read, who read a message, each member's position
// and unread (lib/core/reads.ts). Members only; the caller is the token's user with authentication.
import type { Context, Hono } from "hono";
import * as v from "valibot";
import type { Reads } from "../../core/reads.ts";
import { HttpError, grace, intParam, jsonBody, userParam } from "./respond.ts";

export interface ReadRouteDeps {
  markGroupRead(userId: string, groupId: string, msgId: string | undefined): ReturnType<Reads["mark"]>;
  whoRead(userId: string, groupId: string, msgId: string | undefined): ReturnType<Reads["whoRead"]>;
  readState(userId: string, groupId: string, page: number, pageSize: number): ReturnType<Reads["state"]>;
  authEnabled: boolean;
}

const ReadBody = v.object({
  msgId: v.string("must be a message id as a string"),
  userId: v.optional(v.string("must be a string")),
});

export function addReadRoutes(app: Hono<any>, deps: ReadRouteDeps): void {
  /** The reader: the token's user with authentication (another `userId` is 403), else the `userId` given. */
  const readerOf = (c: Context, given: string | undefined): string => {
    const userId = userParam("userId", given ?? (c.get("userId") as string | undefined));
    if (deps.authEnabled && userId !== c.get("userId")) throw new HttpError(403, "you may only read as yourself");
    return userId;
  };
  const groupId = (c: Context) => c.req.param("groupId") ?? "";

  app.post("/chat/group/:groupId/read", async (c) => {
    const body = await jsonBody(c, ReadBody);
    const userId = readerOf(c, body.userId ?? c.req.query("userId"));
    return grace(c, { groupId: groupId(c), ...(await deps.markGroupRead(userId, groupId(c), body.msgId)) });
  });

  const reads = async (c: Context) => grace(c, await deps.whoRead(readerOf(c, c.req.query("userId")), groupId(c), c.req.query("msgId")));
  app.get("/chat/group/:groupId/reads", reads);
  app.post("/chat/group/:groupId/reads", reads);

  const state = async (c: Context) => {
    const userId = readerOf(c, c.req.query("userId"));
    const page = intParam("page", c.req.query("page"), 1, 1, 1_000_000);
    const pageSize = intParam("pageSize", c.req.query("pageSize"), 50, 1, 200);
    return grace(c, await deps.readState(userId, groupId(c), page, pageSize));
  };
  app.get("/chat/group/:groupId/read-state", state);
  app.post("/chat/group/:groupId/read-state", state);
}
