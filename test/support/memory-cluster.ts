// Several chat cores in one process on in-memory stand-ins for the cluster's shared parts (session
// routes, registry events, port book, bus) and one shared SQLite store: the cross-instance rules
// under test, deterministic — fake time, explicit steps, no sockets, no sleeps.
import { createMetrics } from "../../lib/adapters/metrics.ts";
import { createMemoryUnread } from "../../lib/adapters/memory/unread.ts";
import { createSqlGroups } from "../../lib/adapters/sql/groups.ts";
import { createSqlStore, type SqlStore } from "../../lib/adapters/sql/store.ts";
import { createChat, type Chat, type ChatOptions } from "../../lib/core/chat.ts";
import { createMembership, type Membership } from "../../lib/core/membership.ts";
import type { Envelope, GroupReads, GroupStore, MessageBus, MessageStore, PresenceStore, SessionRoutes, UnreadCounters } from "../../lib/core/ports.ts";
import { silentLogger } from "../../lib/log.ts";
import { editKindOfType } from "../../lib/protocol/edits.ts";
import { createSnowflake } from "../../lib/protocol/snowflake.ts";
import { CORE_OPTIONS, driver, type FakeConn } from "./core.ts";

export interface Member {
  id: string;
  port: number;
  chat: Chat;
  membership: Membership;
  connect(userId?: string): Promise<FakeConn>;
  send(conn: FakeConn, frame: object): Promise<void>;
  /** Envelopes this instance published, with their targets. */
  published: Array<{ targets: readonly string[] | "all"; envelope: Envelope }>;
  /** Makes its publishes fail (the broker unreachable from it). */
  busDown: boolean;
  /** Makes its bus take no more (an outbox whose backlog is full). */
  busFull: boolean;
  /** Registered again (back in the view); `lostSince`: when it lost its registry session, if it did. */
  registeredAgain(lostSince?: number): void;
  /** Loses sight of the registry (its ZooKeeper connection dropped); resolves to when, by its own clock. */
  registryLost(): number;
  /** Fires this instance's routes reset (their store reconnected). */
  routesReset(): void;
  /** Tells this instance that `instanceId` left (as its registry would). */
  hearsGone(instanceId: string, port: number): void;
}

export interface MemoryCluster {
  store: SqlStore;
  groups: GroupStore;
  /** The members' read positions in groups (the same tables' store). */
  reads: GroupReads;
  /** The unread counters every member shares (as the Redis hashes). */
  unread: UnreadCounters;
  /** The shared route entries: userId → (`<instanceId>#<connId>` → instanceId). */
  routes: Map<string, Map<string, string>>;
  /** Users' marks of possibly missed messages (SessionRoutes.missedSince). */
  missed: Map<string, number>;
  /** The port book (the seed's netty_port). */
  ports: Set<number>;
  /** The shared presence state (as the Redis hash): userId → online, since / last seen. */
  presence: Map<string, { online: boolean; at: number }>;
  /** Fake time of every member (core and membership). */
  clock: { now: number };
  /** What the members told their hooks (the webhooks' port): ["stored", msgId] or ["recall" | "edit" | "delete", target msgId, event msgId]. */
  hooked: string[][];
  /** Moves the fake time on by `ms`, runs the timers that came due, and waits for their work. */
  advance(ms: number): Promise<void>;
  /** False makes every route call fail (the routes' store down). */
  routesUp: boolean;
  /** A new instance; `clockAheadMs` sets its clock (its msgIds and its now) that far ahead of the others'. */
  join(options?: Partial<ChatOptions>, clock?: { clockAheadMs?: number }): Promise<Member>;
  /** The instance leaves the registry's view: every other member hears it. */
  leave(member: Member): void;
  close(): Promise<void>;
}

export async function startMemoryCluster(opts: { wrapStore?: (s: MessageStore) => MessageStore } = {}): Promise<MemoryCluster> {
  const store = await createSqlStore({ url: "sqlite::memory:", log: silentLogger });
  const groups = await createSqlGroups(store.sql);
  const members = new Map<string, Member>();
  const live = new Set<string>();
  const timers: Array<{ at: number; fn: () => void }> = [];
  let nextPort = 1;
  const unread = createMemoryUnread();
  const cluster: MemoryCluster = {
    store, groups, reads: groups, unread,
    routes: new Map(), missed: new Map(), ports: new Set(), presence: new Map(), clock: { now: Date.parse("2026-01-01T00:00:00Z") }, routesUp: true, hooked: [],
    join: (options = {}, clock = {}) => join(options, clock.clockAheadMs ?? 0),
    async advance(ms) {
      cluster.clock.now += ms;
      const due = timers.filter((t) => t.at <= cluster.clock.now).sort((x, y) => x.at - y.at);
      for (const t of due) timers.splice(timers.indexOf(t), 1);
      for (const t of due) t.fn();
      for (const m of members.values()) await m.chat.idle();
    },
    leave(member) {
      live.delete(member.id);
      for (const other of members.values()) if (other !== member) other.hearsGone(member.id, member.port);
    },
    async close() {
      for (const m of members.values()) {
        m.membership.close();
        await m.chat.idle();
        await m.membership.idle();
      }
      await store.close();
    },
  };

  const up = () => {
    if (!cluster.routesUp) throw new Error("routes unavailable");
  };
  function routesOf(instanceId: string): SessionRoutes & { resets: Array<() => void> } {
    const field = (connId: string) => `${instanceId}#${connId}`;
    const own = () => [...cluster.routes].flatMap(([userId, m]) => [...m].filter(([, id]) => id === instanceId).map(([f]) => [userId, f] as const));
    const resets: Array<() => void> = [];
    return {
      resets,
      async add(userId, connId) {
        up();
        let m = cluster.routes.get(userId);
        if (!m) cluster.routes.set(userId, (m = new Map()));
        m.set(field(connId), instanceId);
      },
      async remove(userId, connId) {
        up();
        cluster.routes.get(userId)?.delete(field(connId));
      },
      async lookup(userIds) {
        up();
        const ids = new Set<string>();
        for (const u of userIds) for (const id of cluster.routes.get(u)?.values() ?? []) if (live.has(id)) ids.add(id);
        return [...ids];
      },
      async usersOf(id) {
        up();
        return [...cluster.routes].filter(([, m]) => [...m.values()].includes(id)).map(([userId]) => userId);
      },
      async purgeInstance(id, missedSinceMs) {
        up();
        let n = 0;
        for (const [userId, m] of cluster.routes) {
          for (const [f, i] of m) {
            if (i !== id || !m.delete(f)) continue;
            n++;
            if (missedSinceMs !== undefined && !cluster.missed.has(userId)) cluster.missed.set(userId, missedSinceMs);
          }
        }
        return n;
      },
      async missedSince(userId) {
        up();
        return cluster.missed.get(userId);
      },
      async ownCount() {
        up();
        return own().length;
      },
      async rebuild(entries) {
        up();
        for (const [userId, f] of own()) cluster.routes.get(userId)!.delete(f);
        for (const [userId, connId] of entries) await this.add(userId, connId);
      },
      onReset: (listener) => void resets.push(listener),
    };
  }

  // As the Redis scripts: each transition in one step; entries of an instance not purged yet still
  // count; watchers per user as instance ids (the live ones are returned).
  const watching = new Map<string, Set<string>>();
  const watchersOf = (userId: string) => [...(watching.get(userId) ?? [])].filter((id) => live.has(id));
  const presenceFor = (instanceId: string): PresenceStore => ({
    async markOnline(userId, at) {
      up();
      if (cluster.presence.get(userId)?.online) return { changed: false, watchers: [] };
      cluster.presence.set(userId, { online: true, at });
      return { changed: true, watchers: watchersOf(userId) };
    },
    async markOfflineIfGone(userId, at) {
      up();
      if ((cluster.routes.get(userId)?.size ?? 0) > 0 || cluster.presence.get(userId)?.online === false) return { changed: false, watchers: [] };
      cluster.presence.set(userId, { online: false, at });
      return { changed: true, watchers: watchersOf(userId) };
    },
    async watch(userId, on) {
      up();
      let set = watching.get(userId);
      if (!set) watching.set(userId, (set = new Set()));
      if (on) set.add(instanceId);
      else set.delete(instanceId);
    },
    async query(userIds) {
      return userIds.map((userId) => {
        const s = cluster.presence.get(userId);
        return { userId, online: s?.online ?? false, lastSeen: s && !s.online ? s.at : null };
      });
    },
  });

  async function join(options: Partial<ChatOptions>, clockAheadMs: number): Promise<Member> {
    const port = nextPort++;
    const id = `127.0.0.1_${port}`;
    const routes = routesOf(id);
    const gone: Array<(i: { instanceId: string; port: number }) => void> = [];
    const registered: Array<(again: { lostSince?: number }) => void> = [];
    const lost: Array<() => void> = [];
    const published: Member["published"] = [];
    let membership!: Membership;
    const bus: MessageBus = {
      get acceptsMore() {
        return !member.busFull;
      },
      async publish(targets, envelope) {
        if (member.busDown) throw new Error("broker unavailable");
        published.push({ targets, envelope });
        // Delivered before the publish resolves: the broker's confirm follows the enqueue.
        for (const other of members.values()) {
          if (other !== member && live.has(other.id) && (targets === "all" || targets.includes(other.id))) other.chat.deliverRemote(envelope);
        }
      },
      onEnvelope() {},
    };
    const chat = createChat(
      {
        instanceId: id, counts: { set() {} }, bus, routes, unread, groups, reads: groups, presence: presenceFor(id),
        store: opts.wrapStore ? opts.wrapStore(store) : store,
        ids: createSnowflake(port, () => cluster.clock.now + clockAheadMs), log: silentLogger, metrics: createMetrics().core,
        hooks: {
          stored: (msg) => void cluster.hooked.push(["stored", msg.msgId]),
          changed: (event, target) => void cluster.hooked.push([editKindOfType(event.msgType)!, target.msgId, event.msgId]),
        },
        routesTrusted: () => membership.routesTrusted(),
        now: () => cluster.clock.now + clockAheadMs,
        schedule: (fn, ms) => void timers.push({ at: cluster.clock.now + ms, fn }),
      },
      { ...CORE_OPTIONS, redeliverResends: true, routeCacheMs: 1000, ...options },
    );
    const lease = {
      port,
      renew: async () => void cluster.ports.add(port),
      isHeld: async () => (up(), cluster.ports.has(port)),
      releaseOther: async (p: number) => void cluster.ports.delete(p),
    };
    membership = createMembership({
      instanceId: id,
      events: { onInstanceGone: (fn) => void gone.push(fn), onRegistered: (fn) => void registered.push(fn), onLost: (fn) => void lost.push(fn) },
      routes, lease, sessions: chat.sessions, log: silentLogger, now: () => cluster.clock.now, auditEveryMs: 0,
      catchUpAll: (sinceMs) => chat.catchUpAll(sinceMs),
      registryLost: () => chat.registryLost(),
      usersGone: (userIds) => chat.usersGone(userIds),
    });
    const d = driver(chat, id);
    const member = {
      id, port, chat, membership, published, busDown: false, busFull: false,
      connect: d.connect, send: d.send,
      /** Registered again; `lostSince`: when it lost the registry (a lost session), else a plain re-registration. */
      registeredAgain(lostSince?: number) {
        live.add(id); // back in every instance's view
        registered.forEach((fn) => fn({ lostSince }));
      },
      registryLost() {
        lost.forEach((fn) => fn());
        return cluster.clock.now + clockAheadMs;
      },
      routesReset: () => routes.resets.forEach((fn) => fn()),
      hearsGone: (instanceId: string, port: number) => gone.forEach((fn) => fn({ instanceId, port })),
    };
    members.set(id, member);
    live.add(id);
    cluster.ports.add(port);
    return member;
  }

  return cluster;
}
