// What the chat core is made of (the ports it is given) and its options (lib/core/chat.ts).
import type { Logger } from "../log.ts";
import type { CoreMetrics, GroupReads, GroupStore, Ids, MessageBus, MessageHooks, MessageStore, OnlineCounts, PresenceStore, SessionRoutes, UnreadCounters } from "./ports.ts";

export interface ChatDeps {
  instanceId: string;
  counts: OnlineCounts;
  bus: MessageBus;
  routes: Pick<SessionRoutes, "add" | "remove" | "lookup" | "missedSince">;
  store: MessageStore;
  unread: UnreadCounters;
  groups: GroupStore;
  /** Group members' read positions (lib/core/reads.ts). */
  reads: GroupReads;
  presence: PresenceStore;
  ids: Ids;
  log: Logger;
  metrics: CoreMetrics;
  /** False while route lookups may miss entries (see lib/core/membership.ts); default always true. */
  routesTrusted?: () => boolean;
  /** The clock (ms); default Date.now. */
  now?: () => number;
  /** Runs `fn` in `ms`; default an unref'd setTimeout. */
  schedule?: (fn: () => void, ms: number) => void;
  /** Told of each new message once it is handed on (webhooks). */
  hooks?: MessageHooks;
}

export interface ChatOptions {
  /** "direct": publish only to instances holding the users; "fanout": to every instance. */
  routing: "direct" | "fanout";
  /** Most messages replayed on one CONNECT_INIT. */
  replayMax: number;
  /** Connections one user may hold on this instance. */
  maxConnsPerUser: number;
  /** Longest `msg` in characters. */
  maxMsgChars: number;
  /** Hand a resend's stored message on again (a cluster: see lib/core/send.ts). */
  redeliverResends: boolean;
  /** Lifetime of route cache entries in ms, 0 for none (lib/core/route-cache.ts; direct routing only). */
  routeCacheMs: number;
  /** A store write unanswered this long is reported UNAVAILABLE to the sender (default 3 000; see send.ts). */
  storeTimeoutMs?: number;
  /** How long a user whose last device left stays online (ms, default 2 500; lib/core/presence.ts). */
  presenceGraceMs?: number;
  /** Users one connection may watch (default 256). */
  presenceSubscriptionsMax?: number;
  /** Typing frames per second per connection (default 2; bursts of twice that). */
  typingRatePerConn?: number;
  /** How long after sending its sender may recall or edit a message (ms, default 2 minutes; lib/core/edits.ts). */
  editWindowMs?: number;
}

export const DEFAULT_EDIT_WINDOW_MS = 120_000;
