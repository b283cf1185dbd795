// Catch-ups: what a connection is sent from the store after it connected, when live routing may
// have missed it: a new connection once other instances' cached lookups of its user have expired
// (lib/core/route-cache.ts), and every connection after this instance was out of the registry's
// sight (lib/core/membership.ts), from the positions each had then.
import { failureStreak, type Logger } from "../log.ts";
import { positionsOnly, withSeq } from "../protocol/frames.ts";
import { EVERYONE, isMsgId } from "../protocol/ids.ts";
import { snowflakeFloor } from "../protocol/snowflake.ts";
import { framesOf } from "./edits.ts";
import type { GroupStore, MessageStore, Seqs, StoredMsg } from "./ports.ts";
import { CATCH_UP_LOOKBACK_MS, CATCH_UP_SLACK_MS } from "./route-cache.ts";
import type { ConnState, LocalSessions } from "./sessions.ts";

export interface CatchUpDeps {
  sessions: LocalSessions;
  store: MessageStore;
  groups: GroupStore;
  log: Logger;
  /** Sends a frame the catch-up found missing (counted). */
  caughtUp(state: ConnState, text: string): void;
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
}

const declaresEdits = (state: ConnState) => state.features?.has("edit") ?? false;

/** At most this many catch-up reads at once (a reconnect storm queues the rest). */
const CATCH_UPS_AT_ONCE = 8;
/** Most messages one catch-up sends (it covers a few seconds). */
const CATCH_UP_MAX = 1000;

/**
 * Stored rows as one connection gets them (lib/core/edits.ts): with their positions when it declared
 * "seq", and then a row it does not get (an event without "edit", a message it deleted for
 * itself) still holds its place, as a frame of positions only.
 */
export function framesFor(state: ConnState, rows: readonly StoredMsg[], sent?: ReadonlySet<string>): string[] {
  if (!state.features?.has("seq")) return framesOf(rows, declaresEdits(state), sent);
  return framesOf(rows, declaresEdits(state), sent, (m, frame) => (m.seq ? withSeq(frame, m.seq) : frame), (m) => (m.seq ? positionsOnly(m.seq) : undefined));
}

export function createCatchUps(deps: CatchUpDeps) {
  const { sessions, log } = deps;
  const catchUps = failureStreak(log, "catch_up.failed");
  const due: Array<{ state: ConnState; userId: string; afterMsgId: string; from?: Seqs }> = [];
  let running = 0;
  /** Out of the registry's sight (since registryLost(), until catchUpAll()): connections made meanwhile note where they start. */
  let lost = false;

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

  /**
   * After a lost registry: what was stored for `userId` after the positions `from` (no clock
   * involved) and, in timelines it has none for, after `afterMsgId`. The client drops by msgId what
   * it got live meanwhile.
   */
  async function catchUpAfterLoss(state: ConnState, userId: string, afterMsgId: string, from: Seqs): Promise<void> {
    try {
      if (state.closed) return;
      const groups = (await deps.groups.groupsOf(userId)).map((g) => g.groupId);
      const { messages } = await deps.store.since(userId, [...groups, EVERYONE], from, afterMsgId, CATCH_UP_MAX);
      for (const text of framesFor(state, messages)) deps.caughtUp(state, text);
      catchUps.ok();
    } catch (err) {
      catchUps.fail({ err });
    }
  }

  function runDue(): void {
    while (running < CATCH_UPS_AT_ONCE && due.length) {
      const { state, userId, afterMsgId, from } = due.shift()!;
      running++;
      const work = from ? catchUpAfterLoss(state, userId, afterMsgId, from) : catchUp(state, userId, afterMsgId);
      deps.track(work.finally(() => (running--, runDue())));
    }
  }

  /** `replayAfter`: the msgId the client said it has (what it has is not caught up again). */
  function schedule(state: ConnState, userId: string, routedAt: number, replayAfter?: string | null): void {
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
   * This instance lost sight of the registry: the others may soon stop routing its users' messages
   * here. Each connection keeps the positions it had then, where its catch-up will start.
   */
  function registryLost(): void {
    lost = true;
    for (const userId of sessions.users()) {
      for (const state of sessions.connsOf(userId) ?? []) state.lostAt = { ...state.delivered };
    }
  }

  /** Made while out of the registry's sight: its catch-up starts from its user's positions of now. */
  async function markLostAt(state: ConnState, userId: string, seqs?: Seqs): Promise<void> {
    try {
      state.lostAt = { ...(seqs ?? (await deps.store.tops([userId, ...(await deps.groups.groupsOf(userId)).map((g) => g.groupId), EVERYONE]))) };
    } catch (err) {
      catchUps.fail({ err }); // the store cannot say: this one's catch-up goes by the clock
    }
  }

  /**
   * After this instance was out of the registry since `sinceMs` (others may have routed its users'
   * messages nowhere meanwhile): once its routes are back and other instances' cached lookups have
   * expired, every connection gets what was stored for its user since then: after the positions it
   * had when the registry was lost (or, made later, when it connected), and in a timeline it had
   * none for, after `sinceMs` by this instance's clock. Clients drop what they already had by msgId.
   */
  function catchUpAll(sinceMs: number): void {
    const afterMsgId = snowflakeFloor(sinceMs - CATCH_UP_LOOKBACK_MS);
    lost = false;
    deps.schedule(() => {
      for (const userId of sessions.users()) {
        for (const state of sessions.connsOf(userId) ?? []) {
          due.push({ state, userId, afterMsgId, from: state.lostAt ?? {} });
          state.lostAt = undefined;
        }
      }
      log.info("catch_up.after_registry_loss", { connections: due.length, lostForMs: deps.now() - sinceMs });
      runDue();
    }, (deps.routeCacheMs ?? 0) + CATCH_UP_SLACK_MS);
  }

  return {
    /** True while this instance is out of the registry's sight. */
    get lost() {
      return lost;
    },
    schedule,
    registryLost,
    markLostAt,
    catchUpAll,
  };
}
