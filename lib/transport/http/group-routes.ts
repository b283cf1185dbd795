// HTTP routes of groups (/chat/group/…) and of the admin's system broadcast (/chat/broadcast).
import type { Context, Hono } from "hono";
import * as v from "valibot";
import type { GroupStore } from "../../core/ports.ts";
import { GROUP_ID, GROUP_ID_RULE, GROUP_PREFIX, USER_ID, USER_ID_RULE } from "../../protocol/ids.ts";
import { text } from "../../protocol/values.ts";
import { HttpError, adminOnly, grace, jsonBody } from "./respond.ts";

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
    const b = await jsonBody(c, CreateBody);
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
      const { userIds } = await jsonBody(c, MembersBody);
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
    adminOnly(c, deps.adminToken, "system broadcast");
    const { msg } = await jsonBody(c, BroadcastBody);
    return grace(c, await deps.broadcast(msg));
  });
}
