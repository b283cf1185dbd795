// The narrow interfaces the chat core needs, implemented in lib/adapters/ (memory/ for standalone,
// sql/, redis/, zookeeper/, rabbitmq/ for a cluster). The core knows these, never a vendor.
import type { Feature, Presence } from "../protocol/features.ts";
import type { ChatMsg } from "../protocol/frames.ts";

// ---- messages ------------------------------------------------------------------------------

/**
 * A message's positions by timeline id: in its receiver's timeline (a user, a group, or everyone)
 * and its sender's. Each timeline's positions are 1, 2, 3… with no gap, and a position is stored
 * only after those below it: a client holding every position up to n of a timeline lacks nothing
 * older there (replay by seq, README).
 */
export type Seqs = Readonly<Record<string, number>>;

/**
 * A message as stored: `msgId`, `senderId`, `receiverId`, `msgType`, `chatTime` always set; `seq`
 * once stored (not a ChatMsg field: frames carry it beside chatMsg, to clients that declared "seq").
 */
export type StoredMsg = ChatMsg & { msgId: string; senderId: string; receiverId: string; msgType: number; chatTime: string; seq?: Seqs } & EditMarks;

/**
 * This project's marks of recall and edit (lib/core/edits.ts): on an event row, the message it
 * names (`refId`); on a message, what happened to it since (`recalled`: its msg is "" and its
 * media paths gone; `edited`: msg is the newest text).
 */
export interface EditMarks {
  refId?: string;
  recalled?: boolean;
  edited?: boolean;
}

/** What a recall or edit does to the message it names (applied after its event row is stored). */
export type EditChange = { msgId: string; eventId: string } & ({ recall: true } | { recall?: false; msg: string });

export interface SaveResult {
  msgId: string;
  chatTime: string;
  /** The stored message's positions (absent from a store that keeps none). */
  seq?: Seqs;
  /** True when (senderId, clientMsgId) was stored before: the result names the first message. */
  duplicate: boolean;
}

/**
 * The store refused this one message's data (a value it cannot hold); the rest of its batch was
 * stored. The sender gets BAD_FRAME with the reason; resending the same data cannot succeed.
 */
export class StoreRefusedError extends Error {
  override name = "StoreRefusedError";
}

/** Every chat message, for history, replay and read receipts. */
export interface MessageStore {
  /**
   * Persists one message; resolves once it is durable (writes are batched internally). Rejects
   * with StoreRefusedError when this message's data cannot be stored, with another error when the
   * store is unavailable.
   */
  save(msg: StoredMsg): Promise<SaveResult>;
  /**
   * Both directions between two users, page 1 newest; rows oldest first within the page. With a
   * group id as `userB`, every message to the group; with "system", the broadcasts `userA` got.
   * Never event rows (recall, edit, delete: lib/protocol/edits.ts), nor what `userA` deleted for itself.
   */
  history(userA: string, userB: string, page: number, pageSize: number): Promise<{ records: number; rows: StoredMsg[] }>;
  /**
   * Messages to or from `userId` — and to any of `alsoTo` (the user's groups, everyone) from
   * others — with an id larger than `afterMsgId`, oldest first, at most `limit`.
   */
  after(userId: string, afterMsgId: string, limit: number, alsoTo?: readonly string[]): Promise<StoredMsg[]>;
  /**
   * What `userId` lacks in its timelines: its own and each of `alsoTo` (its groups, everyone),
   * after the position `positions` gives for each, or, for a timeline without one, after
   * `afterMsgId` (none when undefined). Oldest first, each message once; `complete` is false when
   * `limit` cut it (older ones may be missing).
   */
  since(userId: string, alsoTo: readonly string[], positions: Seqs, afterMsgId: string | undefined, limit: number): Promise<{ messages: StoredMsg[]; complete: boolean }>;
  /** The last position of each of `timelines` (0 for one without a message yet). */
  tops(timelines: readonly string[]): Promise<Record<string, number>>;
  get(msgId: string): Promise<StoredMsg | undefined>;
  /** Marks a message read; false when no such message. */
  markRead(msgId: string): Promise<boolean>;
  /**
   * Applies a recall or edit to its message; idempotent. A recall wins over any edit; of two
   * edits the later event's text stays, whatever order they are applied in. True when the message
   * changed (a recall: it was not recalled before).
   */
  applyEdit(change: EditChange): Promise<boolean>;
  /** Hides a message from `userId`'s history (delete for me); idempotent: true when it was not hidden before. */
  hide(userId: string, msgId: string): Promise<boolean>;
  /**
   * The conversations of `userId` newest first: every peer it exchanged a 1:1 message with, and
   * each of `groupIds` with a message, with the newest message of each (the newest row of the
   * same conversation's history). `records`: how many conversations in all.
   */
  conversations(userId: string, groupIds: readonly string[], page: number, pageSize: number): Promise<{ records: number; rows: Conversation[] }>;
}

/** One conversation of a user: a peer's id or a group id, and its newest message. */
export interface Conversation {
  conversationId: string;
  last: StoredMsg;
}

/** Named sets of users a message can be sent to (communicationType 2). */
export interface Group {
  groupId: string;
  name: string;
  ownerId: string;
}

export interface GroupStore {
  create(group: Group, members: readonly string[]): Promise<void>;
  get(groupId: string): Promise<Group | undefined>;
  /** Member ids; read from the store on every call (membership changes apply to the next message). */
  members(groupId: string): Promise<string[]>;
  addMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  removeMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  /** Groups `userId` belongs to. */
  groupsOf(userId: string): Promise<Group[]>;
}

/** Unread counters per (receiver, sender): the seed lineage's `chat_msg_list:<receiverId>` hash. */
export interface UnreadCounters {
  /** Counts one more unread message from `msg.senderId` for `msg.receiverId` (called once the message is stored). */
  increment(msg: StoredMsg): Promise<void>;
  /** Counts one more unread message from `senderId` (a group id for group messages) for each receiver. */
  incrementMany(receiverIds: readonly string[], senderId: string): Promise<void>;
  /** `{senderId: count}` for one receiver. */
  get(receiverId: string): Promise<Record<string, number>>;
  /** Resets one counter to 0 (the sender stays listed with 0, as in the seed lineage). */
  clear(receiverId: string, senderId: string): Promise<void>;
  /** Sets one counter to `count` (a group's unread recomputed from the reader's position). */
  set(receiverId: string, senderId: string, count: number): Promise<void>;
  /** Counts one unread message from `senderId` less for each receiver, never below 0 (a recalled message). */
  uncount(receiverIds: readonly string[], senderId: string): Promise<void>;
}

/**
 * Each group member's read position: the newest msgId of the group it has read. A position only
 * moves forward; kept beside the group tables (lib/adapters/sql/group-reads.ts).
 */
export interface GroupReads {
  /**
   * Moves `userId`'s position in `groupId` up to `msgId`; never back. `moved` false when it was
   * there or past already; `previous` the position before, if it had one.
   */
  advance(groupId: string, userId: string, msgId: string): Promise<{ moved: boolean; previous?: string }>;
  /** The positions of the group's readers (members that have one): userId → msgId. */
  positions(groupId: string): Promise<Map<string, string>>;
  /** Messages to `groupId` after `afterMsgId` (all with undefined) from others than `userId`, counted up to `cap`. */
  unreadAfter(groupId: string, userId: string, afterMsgId: string | undefined, cap: number): Promise<number>;
  /** The distinct senders of the newest `cap` messages to `groupId` in (`afterMsgId`, `uptoMsgId`]. */
  sendersBetween(groupId: string, afterMsgId: string | undefined, uptoMsgId: string, cap: number): Promise<string[]>;
}

/** Told of every new chat message once it is stored and handed on (the app's webhooks). Must not block. */
export interface MessageHooks {
  stored(msg: StoredMsg, audience: Audience): void;
  /** A recall, edit or delete-for-me (`event`, a stored event row naming `target` in refId) was applied and handed on. */
  changed?(event: StoredMsg, target: StoredMsg): void;
}

/** Message ids: snowflakes, unique across the cluster, increasing per instance. */
export interface Ids {
  next(): string;
}

// ---- between instances ---------------------------------------------------------------------

/**
 * Who gets a frame: a 1:1 pair (receiver, and the sender's devices), a group's members, everyone,
 * or the connections that subscribed to a user's presence (`watchers`, presence frames only).
 */
export type Audience =
  | { kind: "pair"; receiverId: string; senderId: string }
  | { kind: "members"; userIds: readonly string[] }
  | { kind: "everyone" }
  | { kind: "watchers"; userId: string };

/** What one instance hands another: the frame as its connections get it, and to whom. */
export interface Envelope {
  audience: Audience;
  /** The DataContent JSON text, delivered to connections as it is (never parsed on the way). */
  frame: string;
  /** The connection that sent it: it does not get it back. */
  except?: string;
  /**
   * A feature frame (lib/protocol/features.ts): only connections that declared this feature get
   * it, and it never travels on the seed's fanout_exchange.
   */
  feature?: Feature;
  /** A stored message's positions: connections that declared "seq" get the frame with them. */
  seq?: Seqs;
}

/** Passes envelopes to other instances (RabbitMQ in a cluster; nobody in standalone). */
export interface MessageBus {
  /**
   * Sends `envelope` to the given instances (ids `<ip>_<port>`, never this one), or to every other
   * instance with "all". Resolves once the broker has accepted it.
   */
  publish(targets: readonly string[] | "all", envelope: Envelope): Promise<void>;
  /** Sets the handler of envelopes other instances sent to this one. */
  onEnvelope(handler: (envelope: Envelope) => void): void;
  /** False while the bus can hold no more (its backlog during an outage is full): refuse new messages. */
  readonly acceptsMore: boolean;
}

/** How long a user's mark of possibly missed messages is kept after the last purge that set it. */
export const MISSED_MARK_TTL_MS = 3_600_000;

/** Which instances hold connections of which users, cluster-wide. */
export interface SessionRoutes {
  /** Records that this instance holds connection `connId` of `userId`. */
  add(userId: string, connId: string): Promise<void>;
  /** Forgets connection `connId` of `userId` on this instance. */
  remove(userId: string, connId: string): Promise<void>;
  /** Ids of the live instances, this one included, that hold a connection of any of `userIds`. */
  lookup(userIds: readonly string[]): Promise<string[]>;
  /**
   * Removes every entry of an instance that left the cluster; how many. With `missedSinceMs`, each
   * user whose entry went is marked as possibly missing live messages since then (that instance
   * may still serve it, out of everyone's view, and die before it catches its devices up): the
   * earliest mark is kept, for MISSED_MARK_TTL_MS after the last one.
   */
  purgeInstance(instanceId: string, missedSinceMs?: number): Promise<number>;
  /** The earliest such mark of `userId` (ms), if any: a replay reaches back to it. */
  missedSince(userId: string): Promise<number | undefined>;
  /** Users the routes record on an instance (read before purging a dead one: their presence is checked after). */
  usersOf(instanceId: string): Promise<string[]>;
  /** How many connections the routes record for this instance. */
  ownCount(): Promise<number>;
  /** Makes this instance's entries exactly `entries` ([userId, connId]). */
  rebuild(entries: Iterable<readonly [userId: string, connId: string]>): Promise<void>;
  /** Registers a callback for when the routes may have lost entries (their store reconnected). */
  onReset(listener: () => void): void;
}

/**
 * Presence state cluster-wide (a Redis hash in a cluster, memory standalone). Transitions are
 * atomic, so that of several instances racing only one announces a change; each transition also
 * says which instances watch the user, so that an event is published only where it is wanted.
 */
export interface PresenceStore {
  /**
   * Records `userId` online (call after its route was added); `changed` when it was not online
   * before (announce it to `watchers`, the ids of the live instances with subscribers to it).
   */
  markOnline(userId: string, at: number): Promise<PresenceChange>;
  /**
   * Records `userId` offline, last seen `at`, unless the session routes still hold a connection of
   * it (on any instance); `changed` when it went offline just now.
   */
  markOfflineIfGone(userId: string, at: number): Promise<PresenceChange>;
  /** The state of each of `userIds`, in order (never seen: offline, lastSeen null). */
  query(userIds: readonly string[]): Promise<Presence[]>;
  /** Records that this instance has (`true`) or no longer has subscribers to `userId`'s presence. */
  watch(userId: string, watching: boolean): Promise<void>;
}

/** A presence transition: whether it changed, and the instances watching the user. */
export interface PresenceChange {
  changed: boolean;
  watchers: string[];
}

export type { InstanceEvents, OnlineCounts, PortLease } from "./cluster-ports.ts";
export type { CoreMetrics } from "./core-metrics.ts";
