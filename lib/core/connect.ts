// CONNECT_INIT: binds a connection to its user, makes it routable cluster-wide, counts it online,
// and replays what the user missed before live traffic.
import { failureStreak, type Logger } from "../log.ts";
import { ErrorCode, positionsOnly, withSeq, type ChatMsg } from "../protocol/frames.ts";
import { EVERYONE, MSG_ID_RULE, isMsgId, userIdProblem } from "../protocol/ids.ts";
import { snowflakeFloor } from "../protocol/snowflake.ts";
import type { GroupStore, MessageStore, Seqs, SessionRoutes, StoredMsg } from "./ports.ts";
import { refuse } from "./refusal.ts";
import { CATCH_UP_LOOKBACK_MS, CATCH_UP_SLACK_MS } from "./route-cache.ts";
import { framesOf } from "./edits.ts";
import { sendTo, type ConnState, type LocalSessions } from "./sessions.ts";

export interface ConnectDeps {
  sessions: LocalSessions;
  routes: Pick<SessionRoutes, "add" | "remove" | "missedSince">;
  store: MessageStore;
  groups: GroupStore;
  log: Logger;
  /** Called after a connection was bound or unbound. */
  countsChanged(): void;
  /** Sends a replayed frame (counted). */
  replayed(state: ConnState, text: string): void;
  /** Sends a frame the catch-up found missing (counted). */
  caughtUp(state: ConnState, text: string): void;
  /** Sends an error frame without ending the request (a failed replay: the connection is live all the same). */
  fail(state: ConnState, code: ErrorCode, message: string, clientMsgId?: string | null): void;
  /** Most messages replayed on one CONNECT_INIT. */
  replayMax: number;
  /** Connections one user may hold on this instance. */
  maxConnsPerUser: number;
  /**
   * The lifetime of other instances' route cache entries (lib/core/route-cache.ts); when set, a
   * new connection gets a catch-up once entries read before its route write have expired.
   */
  routeCacheMs?: number;
  now: () => number;
  /** Runs `fn` in `ms` (a timer; fake time in tests). */
  schedule(fn: () => void, ms: number): void;
  /** Tracks background work, so that a stop waits for it. */
  track(work: Promise<void>): void;
  /** The first connection of a user here is routable (presence: lib/core/presence.ts). */
  userBound?(userId: string): void;
  /** The last connection of a user here is gone. */
  userLeft?(userId: string): void;
}

const declaresEdits = (state: ConnState) => state.features?.has("edit") ?? false;

/** At most this many catch-up reads at once (a reconnect storm queues the rest). */
const CATCH_UPS_AT_ONCE = 8;
/** Most messages one catch-up sends (it covers a few seconds). */
const CATCH_UP_MAX = 1000;

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

/**
 * Stored rows as one connection gets them (lib/core/edits.ts): with their positions when it declared
 * "seq", and then a row it does not get (an event without "edit", a message it deleted for
 * itself) still holds its place, as a frame of positions only.
 */
function framesFor(state: ConnState, rows: readonly StoredMsg[], sent?: ReadonlySet<string>): string[] {
  if (!state.features?.has("seq")) return framesOf(rows, declaresEdits(state), sent);
  return framesOf(rows, declaresEdits(state), sent, (m, frame) => (m.seq ? withSeq(frame, m.seq) : frame), (m) => (m.seq ? positionsOnly(m.seq) : undefined));
}

export function createConnect(deps: ConnectDeps) {
  const { sessions, log } = deps;
  const routesAdd = failureStreak(log, "routes.add_failed");
  const routesRemove = failureStreak(log, "routes.remove_failed");
  const catchUps = failureStreak(log, "catch_up.failed");
  const missedMarks = failureStreak(log, "routes.missed_mark_unread");
  const due: Array<{ state: ConnState; userId: string; afterMsgId: string }> = [];
  let running = 0;

  /** What `userId` was sent after `afterMsgId` that this connection did not get (see route-cache.ts). */
  async function catchUp(state: ConnState, userId: string, afterMsgId: string): Promise<void> {
    try {
      if (state.closed) return;
      const groups = (await deps.groups.groupsOf(userId)).map((g) => g.groupId);
      // After the positions read before its replay (feature "seq"): no clock involved.
      const from = state.catchUpFrom;
      const recent = from
        ? (await deps.store.since(userId, [...groups, EVERYONE], from, undefined, CATCH_UP_MAX)).messages
        : await deps.store.after(userId, afterMsgId, CATCH_UP_MAX, [...groups, EVERYONE]);
      for (const text of framesFor(state, recent, state.seen)) deps.caughtUp(state, text);
      catchUps.ok();
    } catch (err) {
      catchUps.fail({ err });
    } finally {
      state.seen = undefined;
      state.catchUpFrom = undefined;
    }
  }

  function runDue(): void {
    while (running < CATCH_UPS_AT_ONCE && due.length) {
      const { state, userId, afterMsgId } = due.shift()!;
      running++;
      deps.track(catchUp(state, userId, afterMsgId).finally(() => (running--, runDue())));
    }
  }

  /** `replayAfter`: the msgId the client said it has (what it has is not caught up again). */
  function scheduleCatchUp(state: ConnState, userId: string, routedAt: number, replayAfter?: string | null): void {
    if (!deps.routeCacheMs) return;
    state.seen = new Set();
    const floor = snowflakeFloor(routedAt - CATCH_UP_LOOKBACK_MS);
    const afterMsgId = replayAfter && isMsgId(replayAfter) && BigInt(replayAfter) > BigInt(floor) ? replayAfter : floor;
    deps.schedule(() => {
      due.push({ state, userId, afterMsgId });
      runDue();
    }, deps.routeCacheMs + CATCH_UP_SLACK_MS);
  }

  /**
   * After this instance was out of the registry since `sinceMs` (others may have routed its users'
   * messages nowhere meanwhile): once its routes are back and other instances' cached lookups have
   * expired, every connection gets what was stored for its user since then. Clients drop what they
   * already had by msgId.
   */
  function catchUpAll(sinceMs: number): void {
    const afterMsgId = snowflakeFloor(sinceMs - CATCH_UP_LOOKBACK_MS);
    deps.schedule(() => {
      for (const userId of sessions.users()) {
        for (const state of sessions.connsOf(userId) ?? []) due.push({ state, userId, afterMsgId });
      }
      log.info("catch_up.after_registry_loss", { connections: due.length, lostForMs: deps.now() - sinceMs });
      runDue();
    }, (deps.routeCacheMs ?? 0) + CATCH_UP_SLACK_MS);
  }

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
    catchUpAll,

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
      scheduleCatchUp(state, userId, routing, chatMsg.msgId); // timed from after the write
      if (!replays && !wantsSeq) return undefined;
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
