// The chat core on the in-process adapters and an in-memory SQLite store, driven without a network:
// connections are plain objects that record what the core sends them.
import { createMetrics } from "../../lib/adapters/metrics.ts";
import { createLocalBus } from "../../lib/adapters/memory/bus.ts";
import { createMemoryPresence } from "../../lib/adapters/memory/presence.ts";
import { createLocalRoutes } from "../../lib/adapters/memory/session-routes.ts";
import { createMemoryUnread } from "../../lib/adapters/memory/unread.ts";
import { createSqlGroups } from "../../lib/adapters/sql/groups.ts";
import { createSqlStore, type SqlStore } from "../../lib/adapters/sql/store.ts";
import { createChat, type Chat, type ChatDeps, type ChatOptions } from "../../lib/core/chat.ts";
import type { MessageStore } from "../../lib/core/ports.ts";
import type { Conn } from "../../lib/core/sessions.ts";
import { silentLogger } from "../../lib/log.ts";
import { createSnowflake } from "../../lib/protocol/snowflake.ts";

export interface FakeConn extends Conn {
  readonly sent: any[];
  closed?: { code: number; reason: string };
}

export interface Core {
  chat: Chat;
  store: SqlStore;
  /** Opens a connection and, with `userId`, binds it (CONNECT_INIT) before resolving. */
  connect(userId?: string): Promise<FakeConn>;
  /** Sends one frame (an object is JSON-encoded) and resolves once the core handled it. */
  send(conn: FakeConn, frame: object | string): Promise<void>;
  close(): Promise<void>;
}

export const CORE_OPTIONS: ChatOptions = { routing: "direct", replayMax: 1000, maxConnsPerUser: 32, maxMsgChars: 16384, redeliverResends: false, routeCacheMs: 0 };

/** A connection that records what it is sent, parsed. */
export function fakeConn(id: string, onClose: (conn: FakeConn) => void = () => {}): FakeConn {
  return {
    id,
    sent: [],
    send(text) {
      this.sent.push(JSON.parse(text));
      return true;
    },
    close(code, reason) {
      this.closed = { code, reason };
      onClose(this);
    },
  };
}

/** Drives `chat` with fake connections. */
export function driver(chat: Chat, prefix = "conn") {
  let n = 0;
  const send = (conn: FakeConn, frame: object | string) => chat.message(conn, typeof frame === "string" ? frame : JSON.stringify(frame));
  return {
    send,
    async connect(userId?: string): Promise<FakeConn> {
      const conn = fakeConn(`${prefix}-${++n}`, (c) => chat.close(c));
      chat.open(conn);
      if (userId) await send(conn, { chatMsg: { senderId: userId, msgType: 0 } });
      return conn;
    },
  };
}

/** The group tables over `store`'s connection: the groups and their members' read positions. */
async function groupsOf(store: SqlStore) {
  const groups = await createSqlGroups(store.sql);
  return { groups, reads: groups };
}

/** A core of one standalone instance; `deps` replace any of its parts, `wrapStore` stands before the real store. */
export async function startCore(opts: { options?: Partial<ChatOptions>; deps?: Partial<ChatDeps>; wrapStore?: (store: MessageStore) => MessageStore } = {}): Promise<Core> {
  const store = await createSqlStore({ url: "sqlite::memory:", log: silentLogger });
  const instanceId = "127.0.0.1_1";
  const routes = createLocalRoutes(instanceId);
  const chat = createChat(
    {
      instanceId,
      counts: { set() {} },
      bus: createLocalBus(),
      routes,
      presence: createMemoryPresence(routes.has),
      store: opts.wrapStore ? opts.wrapStore(store) : store,
      unread: createMemoryUnread(),
      ...(await groupsOf(store)),
      ids: createSnowflake(1),
      log: silentLogger,
      metrics: createMetrics().core,
      ...opts.deps,
    },
    { ...CORE_OPTIONS, ...opts.options },
  );
  return {
    chat,
    store,
    ...driver(chat),
    async close() {
      await chat.idle();
      await store.close();
    },
  };
}
