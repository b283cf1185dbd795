// HTTP routes of this project's features: presence of many users, and a user's conversation list.
import type { Context, Hono } from "hono";
import * as v from "valibot";
import { listConversations, type ConversationsDeps } from "../../core/conversations.ts";
import type { Presence } from "../../protocol/features.ts";
import { USER_ID, USER_ID_RULE, isGroupId } from "../../protocol/ids.ts";
import { HttpError, grace, intParam, jsonBody, userParam } from "./respond.ts";

export interface FeatureRouteDeps extends ConversationsDeps {
  /** The presence of each of `userIds`, in order. */
  presenceOf(userIds: readonly string[]): Promise<Presence[]>;
  /** Most users one presence query may name. */
  presenceQueryMax: number;
  authEnabled: boolean;
}

const UserIdsBody = v.object({ userIds: v.array(v.string("each must be a string")) });

export function addFeatureRoutes(app: Hono<any>, deps: FeatureRouteDeps): void {
  /** The ids of a presence query: distinct, each a user id, at most presenceQueryMax. */
  const checkIds = (ids: string[]): string[] => {
    if (ids.length === 0) throw new HttpError(400, "userIds is required: one or more user ids");
    const unique = [...new Set(ids)];
    if (unique.length > deps.presenceQueryMax) {
      throw new HttpError(400, `userIds names ${unique.length} users; at most ${deps.presenceQueryMax} per query (PRESENCE_QUERY_MAX): split the query`);
    }
    for (const id of unique) {
      if (!USER_ID.test(id) || isGroupId(id)) throw new HttpError(400, `userIds: ${JSON.stringify(id.slice(0, 80))} is not a user id (${USER_ID_RULE})`);
    }
    return unique;
  };
  // GET ?userIds=a,b,c; POST the same query, or a JSON body {"userIds":[…]}.
  const presence = async (c: Context) => {
    const query = c.req.query("userIds");
    let ids: string[];
    if (query !== undefined || c.req.method === "GET") ids = (query ?? "").split(",").filter((s) => s !== "");
    else ids = (await jsonBody(c, UserIdsBody)).userIds;
    return grace(c, await deps.presenceOf(checkIds(ids)));
  };
  app.get("/chat/presence", presence);
  app.post("/chat/presence", presence);

  const conversations = async (c: Context) => {
    const userId = userParam("userId", c.req.query("userId") ?? (c.get("userId") as string | undefined));
    if (deps.authEnabled && userId !== c.get("userId")) throw new HttpError(403, "you may only list your own conversations");
    const page = intParam("page", c.req.query("page"), 1, 1, 1_000_000);
    const pageSize = intParam("pageSize", c.req.query("pageSize"), 20, 1, 200);
    return grace(c, await listConversations(deps, userId, page, pageSize));
  };
  app.get("/chat/conversations", conversations);
  app.post("/chat/conversations", conversations);
}
