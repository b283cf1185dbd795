// The chat core: frames in, deliveries out. Knows the small interfaces, not ZooKeeper/Redis/RabbitMQ.
import type { MessageBus } from "./bus.ts";
import type { DeliveryMarks } from "./delivery-marks.ts";
import { failureStreak, type Logger } from "../log.ts";
import type { Metrics } from "../adapters/metrics.ts";
import {
  CHAT_TYPES, ErrorCode, MsgType, decode, encodeAck, encodeDataContent, encodeError, formatChatTime, formatFrameTime,
  type ChatMsg, type DataContent,
} from "../protocol/frames.ts";
import { EVERYONE, GROUP_PREFIX, MSG_ID_RULE, SYSTEM_SENDER, isGroupId, isMsgId, receiverIdProblem, userIdProblem } from "../protocol/ids.ts";
import type { InstanceRegistry } from "./registry.ts";
import type { SessionRoutes } from "./session-routes.ts";
import { LocalSessions, sendTo, type Conn, type ConnState } from "./sessions.ts";
import type { Snowflake } from "../protocol/snowflake.ts";
import { createDelivery, type Audience } from "./delivery.ts";
import type { GroupStore } from "./groups.ts";
import { createFrameLimiter } from "../transport/limits.ts";
import { StoreRefusedError, type MessageStore, type StoredMsg } from "./store.ts";
import type { UnreadCounters } from "./unread.ts";

export interface ChatDeps {
  instanceId: string;
  registry: InstanceRegistry;
  /** The bus, behind an outbox when it can hold frames during an outage (`full`: refuse new messages). */
  bus: MessageBus & { readonly full?: boolean };
  routes: SessionRoutes;
  store: MessageStore;
  unread: UnreadCounters;
  marks: DeliveryMarks;
  groups: GroupStore;
  ids: Snowflake;
  log: Logger;
  metrics: Metrics;
}

export interface ChatOptions {
  /** "direct": publish only to instances holding the users; "fanout": to every instance. */
  routing: "direct" | "fanout";
  /** Most messages replayed on one CONNECT_INIT. */
  replayMax: number;
  /** Frames per second per connection, bursts of twice that (0: no limit). */
  frameRatePerS: number;
  /** Connections one user may hold on this instance. */
  maxConnsPerUser: number;
  /** Longest `msg` in characters. */
  maxMsgChars: number;
}


export type Chat = ReturnType<typeof createChat>;

/** A frame the core refuses: its sender gets `{"error":{code, message, clientMsgId}}`. */
class FrameRefused extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}
const refuse = (code: ErrorCode, message: string): never => {
  throw new FrameRefused(code, message);
};

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(MsgType));

/** Creates the chat core. The WebSocket server calls open/message/close; the bus feeds `deliverRemote`. */
export function createChat(deps: ChatDeps, opts: ChatOptions) {
  const { store, registry, routes, bus, log, metrics } = deps;
  const sessions = new LocalSessions();
  const states = new Map<Conn, ConnState>();
  /** Frames being handled and remote deliveries under way, so a graceful stop can wait for them. */
  const inFlight = new Set<Promise<void>>();
  const delivery = createDelivery({ instanceId: deps.instanceId, sessions, routes, bus, metrics, log, routing: opts.routing });
  const newLimiter = createFrameLimiter(opts.frameRatePerS);
  const routesAdd = failureStreak(log, "routes.add_failed");
  const routesRemove = failureStreak(log, "routes.remove_failed");
  const unreadWrite = failureStreak(log, "unread.increment_failed");

  function reply(state: ConnState, text: string, kind: string): void {
    metrics.framesOut.inc({ kind });
    sendTo(state, text);
  }
  /** Sends an error frame; with the refused frame's clientMsgId when it had one. */
  function fail(state: ConnState, code: ErrorCode, message: string, clientMsgId?: string | null): void {
    metrics.errors.inc({ code });
    reply(state, encodeError(code, message, clientMsgId), "error");
  }
  function countsChanged(): void {
    registry.setOnlineCounts(sessions.onlineCounts);
    metrics.onlineCounts.set(sessions.onlineCounts);
    metrics.onlineUsers.set(sessions.onlineUsers);
  }

  /** 1:1 frames go to the receiver's connections and the sender's other ones. */
  const pair = (m: { receiverId?: string | null; senderId?: string | null }): Audience => ({ kind: "pair", receiverId: m.receiverId!, senderId: m.senderId! });
  /** Who gets a stored message: its pair, its group's members (read now), or everyone. */
  const audienceOf = async (m: StoredMsg): Promise<Audience> =>
    m.receiverId === EVERYONE ? { kind: "everyone" } : isGroupId(m.receiverId) ? { kind: "members", userIds: await deps.groups.members(m.receiverId) } : pair(m);

  async function connectInit(state: ConnState, chatMsg: ChatMsg): Promise<void> {
    if (state.userId !== undefined) {
      // Bound once: a repeated CONNECT_INIT neither re-binds nor re-counts; naming another user is refused.
      if (chatMsg.senderId != null && chatMsg.senderId !== state.userId) {
        return refuse(ErrorCode.FORBIDDEN, `this connection is bound to ${state.userId}: open a new connection for another user`);
      }
      if (chatMsg.clientMsgId) reply(state, encodeAck({ clientMsgId: chatMsg.clientMsgId }), "ack");
      return;
    }
    const userId = chatMsg.senderId ?? state.conn.authUserId;
    const problem = userIdProblem(userId);
    if (problem || !userId) return refuse(ErrorCode.BAD_FRAME, `chatMsg.senderId: ${problem}`);
    if (state.conn.authUserId !== undefined && state.conn.authUserId !== userId) {
      return refuse(ErrorCode.FORBIDDEN, "chatMsg.senderId must be the user of your token");
    }
    if ((sessions.connsOf(userId)?.size ?? 0) >= opts.maxConnsPerUser) {
      fail(state, ErrorCode.LIMIT_EXCEEDED, `a user may hold at most ${opts.maxConnsPerUser} connections on one instance`, chatMsg.clientMsgId);
      return state.conn.close(1008, "too many connections");
    }
    sessions.bind(state, userId);
    countsChanged();
    if (chatMsg.msgId) state.held = [];
    try {
      await routes.add(userId, state.conn.id);
      routesAdd.ok();
    } catch (err) {
      routesAdd.fail({ err }); // rebuilt from live connections when the dependency returns
    }
    if (chatMsg.msgId) await replay(state, userId, chatMsg.msgId, chatMsg.clientMsgId);
    if (state.closed) return;
    if (chatMsg.clientMsgId) reply(state, encodeAck({ clientMsgId: chatMsg.clientMsgId }), "ack");
  }

  async function replay(state: ConnState, userId: string, afterMsgId: string, clientMsgId?: string | null): Promise<void> {
    const held = state.held ?? [];
    try {
      if (!isMsgId(afterMsgId)) throw new TypeError(`chatMsg.msgId: must be ${MSG_ID_RULE}`);
      const groups = opts.replayMax > 0 ? (await deps.groups.groupsOf(userId)).map((g) => g.groupId) : [];
      const missed = opts.replayMax > 0 ? await store.after(userId, afterMsgId, opts.replayMax, [...groups, EVERYONE]) : [];
      state.held = undefined;
      for (const m of missed) reply(state, encodeDataContent({ chatMsg: m, chatTime: frameTime(m), extend: null }), "replay");
    } catch (err) {
      state.held = undefined;
      if (err instanceof TypeError) fail(state, ErrorCode.BAD_FRAME, err.message, clientMsgId);
      else {
        log.warn("replay.failed", { err });
        fail(state, ErrorCode.UNAVAILABLE, "history is unavailable: reconnect later to receive missed messages", clientMsgId);
      }
    }
    for (const text of held) sendTo(state, text);
  }

  async function chat(state: ConnState, userId: string, chatMsg: ChatMsg): Promise<void> {
    const receiverId = chatMsg.receiverId;
    const problem = receiverIdProblem(receiverId);
    if (problem || !receiverId) return refuse(ErrorCode.BAD_FRAME, `chatMsg.receiverId: ${problem}`);
    if (chatMsg.msgType === MsgType.WORDS && !chatMsg.msg) return refuse(ErrorCode.BAD_FRAME, "chatMsg.msg: text messages need a non-empty msg");
    if (chatMsg.msg && chatMsg.msg.length > opts.maxMsgChars) {
      return refuse(ErrorCode.BAD_FRAME, `chatMsg.msg: at most ${opts.maxMsgChars} characters`);
    }
    const toGroup = chatMsg.communicationType === 2 || isGroupId(receiverId);
    if (toGroup && !isGroupId(receiverId)) return refuse(ErrorCode.BAD_FRAME, `chatMsg.receiverId: a group id ("${GROUP_PREFIX}…") is required with communicationType 2`);
    let audience: Audience = pair({ receiverId, senderId: userId });
    if (toGroup) {
      let members: string[];
      try {
        members = await deps.groups.members(receiverId);
      } catch {
        return refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: resend later");
      }
      if (members.length === 0) return refuse(ErrorCode.NOT_FOUND, `no group ${receiverId}`);
      if (!members.includes(userId)) return refuse(ErrorCode.FORBIDDEN, `you are not a member of ${receiverId}`);
      audience = { kind: "members", userIds: members };
    }
    if (bus.full) return refuse(ErrorCode.UNAVAILABLE, "the cluster's message bus is down and its backlog is full: resend later");
    const now = new Date();
    const msg: StoredMsg = {
      ...chatMsg,
      senderId: userId,
      receiverId,
      msgType: chatMsg.msgType!,
      msgId: deps.ids.next(),
      chatTime: formatChatTime(now),
      isRead: false,
      communicationType: toGroup ? 2 : 1,
    };
    const started = performance.now();
    let saved;
    try {
      saved = await store.save(msg);
    } catch (err) {
      if (err instanceof StoreRefusedError) return refuse(ErrorCode.BAD_FRAME, err.message);
      metrics.storeErrors.inc();
      return refuse(ErrorCode.UNAVAILABLE, "the message was not stored: resend it later");
    }
    metrics.storeLatency.observe((performance.now() - started) / 1000);
    let delivered = true;
    if (!saved.duplicate) {
      const counted =
        audience.kind === "members" ? deps.unread.incrementMany(audience.userIds.filter((u) => u !== userId), receiverId) : deps.unread.increment(msg);
      counted.then(unreadWrite.ok, (err) => unreadWrite.fail({ err }));
      delivered = await delivery.route(audience, state.conn.id, encodeDataContent({ chatMsg: msg, chatTime: formatFrameTime(now), extend: state.conn.id }), msg.msgId);
    } else if (!(await deps.marks.isMarked(saved.msgId))) {
      // The first attempt was stored but its instance died before handing it on: deliver it now.
      const first = await store.get(saved.msgId);
      if (first) delivered = await delivery.route(await audienceOf(first), state.conn.id, encodeDataContent({ chatMsg: first, chatTime: frameTime(first), extend: state.conn.id }), first.msgId);
    }
    if (!delivered) return refuse(ErrorCode.UNAVAILABLE, "the message was stored but could not be passed on: resend it (it will not be duplicated)");
    deps.marks.mark(saved.msgId);
    if (chatMsg.clientMsgId) {
      reply(state, encodeAck({ clientMsgId: chatMsg.clientMsgId, msgId: saved.msgId, chatTime: saved.chatTime }), "ack");
    }
  }

  async function signed(state: ConnState, userId: string, chatMsg: ChatMsg): Promise<void> {
    const msgId = chatMsg.msgId;
    if (!isMsgId(msgId)) return refuse(ErrorCode.BAD_FRAME, `chatMsg.msgId: the id of the message to sign is required, ${MSG_ID_RULE}`);
    let original: StoredMsg | undefined;
    let maySign = false;
    try {
      original = await store.get(msgId);
      // In a group every member but the sender may sign; isRead then means "some member read it".
      if (original && isGroupId(original.receiverId)) maySign = original.senderId !== userId && (await deps.groups.members(original.receiverId)).includes(userId);
      else maySign = original?.receiverId === userId;
      if (maySign) await store.markRead(msgId);
    } catch (err) {
      return refuse(ErrorCode.UNAVAILABLE, "the store is unavailable: sign the message again later");
    }
    if (!original) return refuse(ErrorCode.NOT_FOUND, `no message ${msgId}`);
    if (!maySign) return refuse(ErrorCode.FORBIDDEN, "only the receiver of a message (a member, for a group) may sign it");
    const notice: ChatMsg = { msgType: MsgType.SIGNED, msgId, senderId: userId, receiverId: original.senderId } as ChatMsg;
    await delivery.route(pair(notice), state.conn.id, encodeDataContent({ chatMsg: notice, chatTime: formatFrameTime(new Date()), extend: state.conn.id }), msgId);
    if (chatMsg.clientMsgId) reply(state, encodeAck({ clientMsgId: chatMsg.clientMsgId, msgId }), "ack");
  }

  /** Applies the frame rate limit: notifies at most once a second, closes on sustained abuse. */
  function admitted(state: ConnState): boolean {
    const verdict = state.admit();
    if (verdict === "ok") return true;
    if (verdict === "abusive") {
      log.warn("conn.rate_abuse", { conn: state.conn.id, user: state.userId });
      state.conn.close(1008, "rate limit exceeded");
      return false;
    }
    const now = Date.now();
    if (now - state.limitedNoticeMs >= 1000) {
      state.limitedNoticeMs = now;
      fail(state, ErrorCode.RATE_LIMITED, `more than ${opts.frameRatePerS} frames a second: this frame was dropped, slow down`);
    }
    return false;
  }

  async function handleText(state: ConnState, text: string): Promise<void> {
    const decoded = decode(text);
    if (!decoded.ok) {
      metrics.framesIn.inc({ type: "invalid" });
      return fail(state, decoded.code, decoded.message, decoded.clientMsgId);
    }
    const clientMsgId = decoded.frame.chatMsg.clientMsgId;
    try {
      await handle(state, decoded.frame);
    } catch (err) {
      if (err instanceof FrameRefused) return fail(state, err.code, err.message, clientMsgId);
      log.error("frame.failed", { conn: state.conn.id, err });
      fail(state, ErrorCode.UNAVAILABLE, "the server could not handle this frame: try again", clientMsgId);
    }
  }

  async function handle(state: ConnState, frame: DataContent): Promise<void> {
    const chatMsg = frame.chatMsg;
    const type = chatMsg.msgType;
    // Known types only: a label per client-chosen number would grow the metrics without bound.
    metrics.framesIn.inc({ type: type != null && KNOWN_TYPES.has(type) ? String(type) : "other" });
    if (type === MsgType.CONNECT_INIT) return connectInit(state, chatMsg);
    if (type === MsgType.KEEPALIVE) return;
    if (type == null || (!CHAT_TYPES.has(type) && type !== MsgType.SIGNED)) {
      return refuse(ErrorCode.BAD_FRAME, `chatMsg.msgType: unknown type ${type ?? "(missing)"}; expected 0–4, 8 or 9`);
    }
    const userId = state.userId;
    if (userId === undefined) return refuse(ErrorCode.NOT_INITIALIZED, "send CONNECT_INIT (msgType 0) first");
    if (chatMsg.senderId != null && chatMsg.senderId !== userId) {
      return refuse(ErrorCode.FORBIDDEN, "chatMsg.senderId must be the user this connection is bound to");
    }
    if (type === MsgType.SIGNED) return signed(state, userId, chatMsg);
    return chat(state, userId, chatMsg);
  }

  return {
    sessions,

    open(conn: Conn): void {
      states.set(conn, { conn, closed: false, admit: newLimiter(), limitedNoticeMs: 0 });
      metrics.connections.set(states.size);
    },

    /** Handles one text frame. Never throws: failures become error frames. */
    message(conn: Conn, text: string): Promise<void> {
      const state = states.get(conn);
      if (!state || state.closed || !admitted(state)) return Promise.resolve();
      const job = handleText(state, text);
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      return job;
    },

    /** A binary frame: the protocol is text JSON only. */
    binary(conn: Conn): void {
      const state = states.get(conn);
      if (state && admitted(state)) fail(state, ErrorCode.BAD_FRAME, "binary frames are not supported: send JSON text frames");
    },

    close(conn: Conn): void {
      const state = states.get(conn);
      if (!state || state.closed) return;
      state.closed = true;
      states.delete(conn);
      metrics.connections.set(states.size);
      const userId = state.userId;
      if (userId !== undefined && sessions.unbind(state)) {
        countsChanged();
        routes.remove(userId, conn.id).then(routesRemove.ok, (err) => routesRemove.fail({ err }));
      }
    },

    /**
     * A system message to every connected user of the cluster (through fanout_exchange), stored
     * from SYSTEM_SENDER to EVERYONE so that it is replayed after reconnect too.
     */
    async broadcast(text: string): Promise<{ msgId: string; chatTime: string }> {
      const now = new Date();
      const msg: StoredMsg = {
        senderId: SYSTEM_SENDER, receiverId: EVERYONE, msg: text, msgType: MsgType.WORDS,
        msgId: deps.ids.next(), chatTime: formatChatTime(now), isRead: false, communicationType: 1,
      };
      await store.save(msg);
      const ok = await delivery.route({ kind: "everyone" }, "", encodeDataContent({ chatMsg: msg, chatTime: formatFrameTime(now), extend: null }), msg.msgId);
      if (!ok) throw new Error("the broadcast is stored but the bus did not take it; it reaches users on replay");
      return { msgId: msg.msgId, chatTime: msg.chatTime };
    },

    /** A frame another instance published: deliver it to the connections here. */
    deliverRemote: (text: string) => delivery.remote(text),

    /** Resolves once every frame under way was handled and its deliveries handed to the bus. */
    async idle(): Promise<void> {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
      await delivery.idle();
    },

    /** Closes every connection (graceful stop): clients reconnect elsewhere. */
    closeAll(code: number, reason: string): void {
      for (const state of [...states.values()]) state.conn.close(code, reason);
    },

    get connectionCount(): number {
      return states.size;
    },
  };
}

function frameTime(m: StoredMsg): string {
  return m.chatTime.replaceAll("-", "/");
}
