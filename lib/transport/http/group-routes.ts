// HTTP routes of groups (/chat/group/…) and of the admin's system broadcast (/chat/broadcast).
import type { Context, Hono } from "hono";
import { timingSafeEqual } from "node:crypto";
import * as v from "valibot";
import { firstIssue, text } from "../../protocol/values.ts";
import type { GroupStore } from "../../core/groups.ts";
import { GROUP_ID, GROUP_ID_RULE, GROUP_PREFIX, USER_ID, USER_ID_RULE } from "../../protocol/ids.ts";
import { HttpError, grace } from "./app.ts";

export interface GroupRouteDeps {
  groups: GroupStore;
  authEnabled: boolean;
  newGroupId: () => string;
  adminToken?: string;
  broadcast: (text: string) => Promise<{ msgId: string; chatTime: string }>;
}

const UserIds = v.pipe(v.array(v.pipe(v.string(), v.regex(USER_ID, `each must be ${USER_ID_RULE}`))), v.maxLength(10_000));
const CreateBody = v.object({
  name: v.pipe(text(200), v.trim(), v.minLength(1, "must not be empty")),
  members: v.optional(UserIds, []),
  ownerId: v.optional(v.pipe(v.string(), v.regex(USER_ID, `must be ${USER_ID_RULE}`))),
});
const MembersBody = v.object({ userIds: UserIds });
const BroadcastBody = v.object({ msg: v.pipe(text(16_384), v.minLength(1, "must not be empty")) });

/**
 * The JSON body of a request, validated. The content type must say JSON: a cross-site form or
 * `text/plain` request (which a browser sends without asking) is refused with 415.
 */
async function body<T extends v.GenericSchema>(c: Context, schema: T): Promise<v.InferOutput<T>> {
  if (!/^application\/json\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "the body must be JSON sent with Content-Type: application/json");
  }
  const json = await c.req.json().catch(() => {
    throw new HttpError(400, "the body must be JSON");
  });
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) throw new HttpError(400, firstIssue(parsed.issues, "body"));
  return parsed.output;
}

/** Adds the routes; with authentication, only members see a group and only its owner changes it. */
export function addGroupRoutes(app: Hono<any>, deps: GroupRouteDeps): void {
  const caller = (c: Context): string | undefined => c.get("userId");
  const groupOf = async (c: Context) => {
    const groupId = c.req.param("groupId") ?? "";
    if (!GROUP_ID.test(groupId)) throw new HttpError(400, `parameter groupId must be ${GROUP_ID_RULE}`);
    const group = await deps.groups.get(groupId);
    if (!group) throw new HttpError(404, `no group ${groupId}`);
    return group;
  };
  const ownerOnly = (c: Context, ownerId: string) => {
    if (deps.authEnabled && caller(c) !== ownerId) throw new HttpError(403, "only the group's owner changes its members");
  };

  app.post("/chat/group/create", async (c) => {
    const b = await body(c, CreateBody);
    const ownerId = deps.authEnabled ? caller(c)! : b.ownerId;
    if (!ownerId) throw new HttpError(400, "ownerId is required (or a token, with authentication on)");
    const group = { groupId: `${GROUP_PREFIX}${deps.newGroupId()}`, name: b.name, ownerId };
    await deps.groups.create(group, b.members);
    return grace(c, { ...group, members: await deps.groups.members(group.groupId) });
  });

  for (const [action, change] of [["add", "addMembers"], ["remove", "removeMembers"]] as const) {
    app.post(`/chat/group/:groupId/members/${action}`, async (c) => {
      const group = await groupOf(c);
      ownerOnly(c, group.ownerId);
      const { userIds } = await body(c, MembersBody);
      await deps.groups[change](group.groupId, userIds.filter((u) => u !== group.ownerId || action === "add"));
      return grace(c, { ...group, members: await deps.groups.members(group.groupId) });
    });
  }

  const members = async (c: Context) => {
    const group = await groupOf(c);
    const list = await deps.groups.members(group.groupId);
    if (deps.authEnabled && !list.includes(caller(c)!)) throw new HttpError(403, "only members see a group");
    return grace(c, { ...group, members: list });
  };
  app.post("/chat/group/:groupId/members", members);
  app.get("/chat/group/:groupId/members", members);

  const list = async (c: Context) => {
    const userId = c.req.query("userId") ?? caller(c);
    if (!userId || !USER_ID.test(userId)) throw new HttpError(400, `parameter userId must be ${USER_ID_RULE}`);
    if (deps.authEnabled && userId !== caller(c)) throw new HttpError(403, "you may only list your own groups");
    return grace(c, await deps.groups.groupsOf(userId));
  };
  app.post("/chat/group/list", list);
  app.get("/chat/group/list", list);

  app.post("/chat/broadcast", async (c) => {
    if (!deps.adminToken) throw new HttpError(404, "system broadcast is disabled: set ADMIN_TOKEN");
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
    const [a, b] = [Buffer.from(token), Buffer.from(deps.adminToken)];
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(401, "unauthorized: send Authorization: Bearer <ADMIN_TOKEN>");
    const { msg } = await body(c, BroadcastBody);
    return grace(c, await deps.broadcast(msg));
  });
}
