// The chat core on the in-process adapters and an in-memory SQLite store, driven without a network:
// connections are plain objects that record what the core sends them.
import { createChat, type Chat, type ChatOptions } from "../../lib/core/chat.ts";
import { alwaysMarked } from "../../lib/core/delivery-marks.ts";
import { createLocalBus } from "../../lib/adapters/memory/bus.ts";
import { createLocalRegistry } from "../../lib/adapters/memory/registry.ts";
import { createLocalRoutes } from "../../lib/adapters/memory/session-routes.ts";
import { createMemoryUnread } from "../../lib/adapters/memory/unread.ts";
import { silentLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/adapters/metrics.ts";
import type { Conn } from "../../lib/core/sessions.ts";
import { createSnowflake } from "../../lib/protocol/snowflake.ts";
import { createSqlGroups } from "../../lib/adapters/sql/groups.ts";
import { createSqlStore } from "../../lib/adapters/sql/store.ts";
import type { MessageStore } from "../../lib/core/store.ts";

export interface FakeConn extends Conn {
  readonly sent: any[];
  closed?: { code: number; reason: string };
}

export interface Core {
  chat: Chat;
  store: Awaited<ReturnType<typeof createSqlStore>>;
  /** Opens a connection and, with `userId`, binds it (CONNECT_INIT) before resolving. */
  connect(userId?: string): Promise<FakeConn>;
  /** Sends one frame (an object is JSON-encoded) and resolves once the core handled it. */
  send(conn: FakeConn, frame: object | string): Promise<void>;
  close(): Promise<void>;
}

const DEFAULTS: ChatOptions = { routing: "direct", replayMax: 1000, frameRatePerS: 0, maxConnsPerUser: 32, maxMsgChars: 16384 };

/** A core of one standalone instance; `wrapStore` may stand between the core and the real store. */
export async function startCore(opts: { options?: Partial<ChatOptions>; wrapStore?: (store: MessageStore) => MessageStore } = {}): Promise<Core> {
  const store = await createSqlStore({ url: "sqlite::memory:", log: silentLogger });
  const self = { ip: "127.0.0.1", port: 1 };
  const instanceId = "127.0.0.1_1";
  const chat = createChat(
    {
      instanceId,
      registry: createLocalRegistry(self),
      bus: createLocalBus(),
      routes: createLocalRoutes(instanceId),
      store: opts.wrapStore ? opts.wrapStore(store) : store,
      unread: createMemoryUnread(),
      marks: alwaysMarked,
      groups: await createSqlGroups(store.sql),
      ids: createSnowflake(1),
      log: silentLogger,
      metrics: createMetrics(),
    },
    { ...DEFAULTS, ...opts.options },
  );
  let n = 0;
  const send = (conn: FakeConn, frame: object | string) => chat.message(conn, typeof frame === "string" ? frame : JSON.stringify(frame));
  return {
    chat,
    store,
    send,
    async connect(userId) {
      const conn: FakeConn = {
        id: `conn-${++n}`,
        sent: [],
        send(text) {
          this.sent.push(JSON.parse(text));
          return true;
        },
        close(code, reason) {
          this.closed = { code, reason };
          chat.close(this);
        },
      };
      chat.open(conn);
      if (userId) await send(conn, { chatMsg: { senderId: userId, msgType: 0 } });
      return conn;
    },
    async close() {
      await chat.idle();
      await store.close();
    },
  };
}
