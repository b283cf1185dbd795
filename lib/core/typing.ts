// Typing notes: a transient frame relayed to the peer's (or the group's other members')
// connections that declared "typing"; never stored, never counted unread, rate-limited.
import { encodeTyping } from "../protocol/features.ts";
import { ErrorCode } from "../protocol/frames.ts";
import { isGroupId } from "../protocol/ids.ts";
import type { Envelope, GroupStore } from "./ports.ts";
import { refuse } from "./refusal.ts";
import type { ConnState } from "./sessions.ts";

export interface TypingDeps {
  groups: Pick<GroupStore, "get" | "members">;
  /** Hands an envelope to the connections here and to the instances holding its audience. */
  route(envelope: Envelope): Promise<boolean>;
  now: () => number;
  /** Typing frames per second per connection, in bursts of up to twice that. */
  ratePerConn: number;
}

export function createTyping(deps: TypingDeps) {
  const burst = Math.max(1, deps.ratePerConn * 2);

  /** Takes one token of the connection's bucket; false when it is empty. */
  function take(state: ConnState): boolean {
    const now = deps.now();
    const b = (state.typing ??= { tokens: burst, at: now });
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * deps.ratePerConn);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  return {
    /** Relays that `userId` is typing (or stopped) to `receiverId`; throws a Refusal. */
    async relay(state: ConnState, userId: string, receiverId: string, stop: boolean): Promise<void> {
      if (!take(state)) {
        refuse(ErrorCode.RATE_LIMITED, `at most ${deps.ratePerConn} typing frames a second per connection (bursts of ${burst}): send one every few seconds while typing`);
      }
      if (receiverId === userId) refuse(ErrorCode.BAD_FRAME, "typing.receiverId: must be another user or a group");
      let userIds: string[];
      if (isGroupId(receiverId)) {
        if (!(await deps.groups.get(receiverId))) refuse(ErrorCode.NOT_FOUND, `no group ${receiverId}`);
        const members = await deps.groups.members(receiverId);
        if (!members.includes(userId)) refuse(ErrorCode.FORBIDDEN, `you are not a member of ${receiverId}`);
        userIds = members.filter((u) => u !== userId);
      } else userIds = [receiverId];
      if (userIds.length === 0) return;
      await deps.route({ audience: { kind: "members", userIds }, frame: encodeTyping(userId, receiverId, stop), feature: "typing", except: state.conn.id });
    },
  };
}
