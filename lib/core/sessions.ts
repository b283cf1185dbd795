// Local sessions: this instance's connections, and which user each one is bound to.
import type { Feature } from "../protocol/features.ts";
import { EVERYONE, isGroupId } from "../protocol/ids.ts";
import { sentMsgIdOf } from "./route-cache.ts";

/** One client connection as the chat core sees it; the WebSocket transport adapts to this. */
export interface Conn {
  /** Unique across the cluster and over time (goes into DataContent.extend). */
  readonly id: string;
  /** The user from a verified token, when authentication is on. */
  readonly authUserId?: string;
  /** Sends one text frame; false when it was dropped (connection closing or over its send buffer). */
  send(text: string): boolean;
  close(code: number, reason: string): void;
}

/** Per-connection state kept by the core. */
export interface ConnState {
  conn: Conn;
  userId?: string;
  closed: boolean;
  /** While a replay is being sent, live frames wait here so they arrive after it. */
  held?: string[];
  /** Until its catch-up ran (lib/core/route-cache.ts): the msgIds this connection was sent. */
  seen?: Set<string>;
  /** Feature "seq", until its catch-up ran: its user's timelines' last positions before its replay. */
  catchUpFrom?: Record<string, number>;
  /** The highest position of each of its user's timelines (its own, a group's, "*") it was sent or known to have. */
  delivered?: Record<string, number>;
  /** Where its catch-up after a lost registry starts: `delivered` when the registry was lost (lib/core/catch-up.ts). */
  lostAt?: Record<string, number>;
  /** The feature frames it declared at CONNECT_INIT (lib/protocol/features.ts); none: a seed client. */
  features?: ReadonlySet<Feature>;
  /** Users whose presence it watches (lib/core/presence.ts). */
  watching?: Set<string>;
  /** Its typing rate bucket (lib/core/typing.ts). */
  typing?: { tokens: number; at: number };
}

export class LocalSessions {
  private readonly byUser = new Map<string, Set<ConnState>>();
  private bound = 0;

  /** Number of connections that completed CONNECT_INIT. */
  get onlineCounts(): number {
    return this.bound;
  }

  /** Number of distinct users with at least one bound connection. */
  get onlineUsers(): number {
    return this.byUser.size;
  }

  bind(state: ConnState, userId: string): void {
    state.userId = userId;
    let set = this.byUser.get(userId);
    if (!set) this.byUser.set(userId, (set = new Set()));
    set.add(state);
    this.bound++;
  }

  /** Removes a bound connection; returns false when it was not bound (never counts twice). */
  unbind(state: ConnState): boolean {
    const userId = state.userId;
    if (userId === undefined) return false;
    const set = this.byUser.get(userId);
    if (!set?.delete(state)) return false;
    if (set.size === 0) this.byUser.delete(userId);
    this.bound--;
    return true;
  }

  /** Users with at least one bound connection here. */
  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  connsOf(userId: string): ReadonlySet<ConnState> | undefined {
    return this.byUser.get(userId);
  }

  /** [userId, connId] of every bound connection, to rebuild cluster-wide routes. */
  *routes(): IterableIterator<readonly [string, string]> {
    for (const [userId, set] of this.byUser) for (const s of set) yield [userId, s.conn.id];
  }
}

/**
 * Notes the positions a frame to `userId`'s connection carries in its user's timelines (its own, a
 * group's, everyone's; not a peer's): what a catch-up that must not depend on clocks starts after.
 */
export function noteDelivered(state: ConnState, userId: string, seq: Readonly<Record<string, number>>): void {
  for (const timeline in seq) {
    if (timeline !== userId && timeline !== EVERYONE && !isGroupId(timeline)) continue;
    const at = seq[timeline];
    const known = (state.delivered ??= {})[timeline];
    if (known === undefined || at > known) state.delivered[timeline] = at;
  }
}

/** Sends to a connection, or holds the frame while its replay is in progress. */
export function sendTo(state: ConnState, text: string): void {
  if (state.closed) return;
  if (state.held) return void state.held.push(text);
  state.conn.send(text);
  if (state.seen) {
    const msgId = sentMsgIdOf(text);
    if (msgId) state.seen.add(msgId);
  }
}
