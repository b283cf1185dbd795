// CONNECT_INIT: binds a connection to its user, makes it routable cluster-wide, counts it online,
// and replays what the user missed before live traffic.
import { failureStreak } from "../log.ts";
import { ErrorCode, type ChatMsg } from "../protocol/frames.ts";
import { EVERYONE, MSG_ID_RULE, isMsgId, userIdProblem } from "../protocol/ids.ts";
import { snowflakeFloor } from "../protocol/snowflake.ts";
import type { Seqs, SessionRoutes, StoredMsg } from "./ports.ts";
import { refuse } from "./refusal.ts";
import { createCatchUps, framesFor, type CatchUpDeps } from "./catch-up.ts";
import { noteDelivered, sendTo, type ConnState } from "./sessions.ts";

export interface ConnectDeps extends CatchUpDeps {
  routes: Pick<SessionRoutes, "add" | "remove" | "missedSince">;
  /** Called after a connection was bound or unbound. */
  countsChanged(): void;
  /** Sends a replayed frame (counted). */
  replayed(state: ConnState, text: string): void;
  /** Sends an error frame without ending the request (a failed replay: the connection is live all the same). */
  fail(state: ConnState, code: ErrorCode, message: string, clientMsgId?: string | null): void;
  /** Most messages replayed on one CONNECT_INIT. */
  replayMax: number;
  /** Connections one user may hold on this instance. */
  maxConnsPerUser: number;
  /** The first connection of a user here is routable (presence: lib/core/presence.ts). */
  userBound?(userId: string): void;
  /** The last connection of a user here is gone. */
  userLeft?(userId: string): void;
}

export type Connect = ReturnType<typeof createConnect>;

/**
 * What a CONNECT_INIT's replay did: `recovered` is false when it may not hold every message missed
 * (cut at REPLAY_MAX, replay off, or the store did not answer): the client should read history.
 */
export interface Replayed {
  replayed?: number;
  recovered?: boolean;
  /** Feature "seq": the last position of each of the user's timelines. */
  seqs?: Record<string, number>;
}

export function createConnect(deps: ConnectDeps) {
  const { sessions, log } = deps;
  const routesAdd = failureStreak(log, "routes.add_failed");
  const routesRemove = failureStreak(log, "routes.remove_failed");
  const missedMarks = failureStreak(log, "routes.missed_mark_unread");
  const catchUps = createCatchUps(deps);

  /**
   * Sends what `userId` missed — after the client's positions (`positions`, feature "seq") and, in
   * timelines it gave none for, after `afterMsgId` — then the live frames held meanwhile. A replay
   * that fails is told to the client; the connection stays live (and is acked) all the same. A
   * connection with "seq" is also told its timelines' last positions (read just before the replay).
   */
  async function replay(state: ConnState, userId: string, afterMsgId: string | undefined, positions: Seqs | undefined, clientMsgId?: string | null): Promise<Replayed> {
    const held = state.held ?? [];
    try {
      if (afterMsgId !== undefined && !isMsgId(afterMsgId)) {
        state.held = undefined;
        deps.fail(state, ErrorCode.BAD_FRAME, `chatMsg.msgId: must be ${MSG_ID_RULE}`, clientMsgId);
        return { replayed: 0, recovered: false };
      }
      const wantsSeq = state.features?.has("seq") === true;
      const asked = afterMsgId !== undefined || positions !== undefined;
      const timelines = deps.replayMax > 0 || wantsSeq ? [userId, ...(await deps.groups.groupsOf(userId)).map((g) => g.groupId), EVERYONE] : [];
      // Read before the replay: what the replay does not send lies above them (the catch-up reads from there).
      const seqs = wantsSeq ? await deps.store.tops(timelines) : undefined;
      if (seqs && deps.routeCacheMs) state.catchUpFrom = seqs;
      if (catchUps.lost) await catchUps.markLostAt(state, userId, seqs);
      let missed: StoredMsg[] = [];
      let complete = deps.replayMax > 0;
      if (asked && deps.replayMax > 0) {
        if (positions) ({ messages: missed, complete } = await deps.store.since(userId, timelines.slice(1), positions, afterMsgId, deps.replayMax));
        else {
          missed = await deps.store.after(userId, afterMsgId!, deps.replayMax, timelines.slice(1));
          complete = missed.length < deps.replayMax; // cut at REPLAY_MAX: older messages than the last one sent may be missing
        }
      }
      state.held = undefined;
      // Event rows (recall, edit, delete) only to a connection that declared "edit" (lib/core/edits.ts).
      for (const text of framesFor(state, missed)) deps.replayed(state, text);
      // What lies under them it now has (the replay sent it, or it had it), unless the replay was cut.
      if (seqs && (!asked || complete)) noteDelivered(state, userId, seqs);
      const result: Replayed = asked ? { replayed: missed.length, recovered: complete } : {};
      return seqs ? { ...result, seqs } : result;
    } catch (err) {
      state.held = undefined;
      log.warn("replay.failed", { err });
      if (afterMsgId === undefined && positions === undefined) return {}; // no replay asked: the ack goes without positions
      deps.fail(state, ErrorCode.UNAVAILABLE, "history is unavailable: reconnect later to receive missed messages", clientMsgId);
      return { replayed: 0, recovered: false };
    } finally {
      for (const text of held) sendTo(state, text);
    }
  }

  /**
   * Where a replay starts: after the client's `msgId`, or from the user's mark of possibly missed
   * messages if that is earlier (an instance that held the user left everyone's view; it may have
   * gone on delivering to this device newer messages than the ones routed nowhere meanwhile).
   */
  function replayFrom(msgId: string, missedSinceMs: number | undefined): string {
    if (missedSinceMs === undefined || !isMsgId(msgId)) return msgId;
    const mark = snowflakeFloor(missedSinceMs);
    return BigInt(mark) < BigInt(msgId) ? mark : msgId;
  }

  return {
    registryLost: catchUps.registryLost,
    catchUpAll: catchUps.catchUpAll,

    /**
     * Handles CONNECT_INIT. Resolves once the connection is routable and any replay was sent (the
     * moment its ack may go out), with what the replay did when one was asked for; throws a Refusal.
     */
    async init(state: ConnState, chatMsg: ChatMsg, positions?: Seqs | null): Promise<Replayed | undefined> {
      if (state.userId !== undefined) {
        // Bound once: a repeated CONNECT_INIT neither re-binds nor re-counts; naming another user is refused.
        if (chatMsg.senderId != null && chatMsg.senderId !== state.userId) {
          refuse(ErrorCode.FORBIDDEN, `this connection is bound to ${state.userId}: open a new connection for another user`);
        }
        return undefined;
      }
      const userId = chatMsg.senderId ?? state.conn.authUserId;
      const problem = userIdProblem(userId);
      if (problem || !userId) return refuse(ErrorCode.BAD_FRAME, `chatMsg.senderId: ${problem}`);
      if (state.conn.authUserId !== undefined && state.conn.authUserId !== userId) {
        refuse(ErrorCode.FORBIDDEN, "chatMsg.senderId must be the user of your token");
      }
      if ((sessions.connsOf(userId)?.size ?? 0) >= deps.maxConnsPerUser) {
        refuse(ErrorCode.LIMIT_EXCEEDED, `a user may hold at most ${deps.maxConnsPerUser} connections on one instance`, [1008, "too many connections"]);
      }
      const first = !sessions.connsOf(userId);
      sessions.bind(state, userId);
      deps.countsChanged();
      const replays = !!chatMsg.msgId || !!positions;
      const wantsSeq = state.features?.has("seq") === true;
      if (replays || wantsSeq) state.held = [];
      const routing = deps.now(); // before the write: the catch-up reads from before it
      const [, missedSince] = await Promise.all([
        deps.routes.add(userId, state.conn.id).then(routesAdd.ok, (err) => routesAdd.fail({ err })), // rebuilt from live connections when the dependency returns
        chatMsg.msgId ? deps.routes.missedSince(userId).catch((err) => void missedMarks.fail({ err })) : undefined,
      ]);
      if (first && !state.closed) deps.userBound?.(userId);
      catchUps.schedule(state, userId, routing, chatMsg.msgId); // timed from after the write
      if (!replays && !wantsSeq) {
        if (catchUps.lost) await catchUps.markLostAt(state, userId);
        return undefined;
      }
      const afterMsgId = chatMsg.msgId ? replayFrom(chatMsg.msgId, missedSince) : undefined;
      return replay(state, userId, afterMsgId, positions ?? undefined, chatMsg.clientMsgId);
    },

    /** A closed connection: unbound (once), uncounted and unrouted. */
    closed(state: ConnState): void {
      const userId = state.userId;
      if (userId === undefined || !sessions.unbind(state)) return;
      deps.countsChanged();
      deps.routes.remove(userId, state.conn.id).then(routesRemove.ok, (err) => routesRemove.fail({ err }));
      if (!sessions.connsOf(userId)) deps.userLeft?.(userId);
    },
  };
}
