// The chat core: frames in, deliveries out. Knows the ports (lib/core/ports.ts; what it is given and
// its options: chat-config.ts), not ZooKeeper, Redis, RabbitMQ or SQL; the same core runs standalone
// and in a cluster.
import { createInFlight } from "../in-flight.ts";
import type { EditRequest } from "../protocol/edits.ts";
import { featureOf, knownFeatures, type FeatureRequest } from "../protocol/features.ts";
import { CHAT_TYPES, ErrorCode, MsgType, decodeClient, decodeValue, encodeAck, encodeError, type DataContent } from "../protocol/frames.ts";
import { DEFAULT_EDIT_WINDOW_MS, type ChatDeps, type ChatOptions } from "./chat-config.ts";
import { createConnect } from "./connect.ts";
import { createDelivery } from "./delivery.ts";
import { createEdits } from "./edits.ts";
import type { Envelope, SaveResult } from "./ports.ts";
import { createPresence } from "./presence.ts";
import { createReads } from "./reads.ts";
import { createReceipts } from "./receipts.ts";
import { Refusal, refuse } from "./refusal.ts";
import { createRouteCache } from "./route-cache.ts";
import { createSend } from "./send.ts";
import { LocalSessions, sendTo, type Conn, type ConnState } from "./sessions.ts";
import { createTyping } from "./typing.ts";

export type { ChatDeps, ChatOptions } from "./chat-config.ts";

export type Chat = ReturnType<typeof createChat>;

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(MsgType));

/** Creates the chat core. The WebSocket transport calls open/message/close; the bus feeds `deliverRemote`. */
export function createChat(deps: ChatDeps, opts: ChatOptions) {
  const { log, metrics } = deps;
  const sessions = new LocalSessions();
  const states = new Map<Conn, ConnState>();
  const inFlight = createInFlight();
  const now = deps.now ?? Date.now;
  const schedule = deps.schedule ?? ((fn: () => void, ms: number) => void setTimeout(fn, ms).unref?.());
  const routeCacheMs = opts.routing === "direct" ? opts.routeCacheMs : 0;
  const cache = routeCacheMs > 0 ? createRouteCache({ lookup: (users) => deps.routes.lookup(users), ttlMs: routeCacheMs, now }) : undefined;
  const delivery = createDelivery({
    ...deps, sessions, routing: opts.routing, routesTrusted: deps.routesTrusted ?? (() => true), cache, now,
    watchersOf: (userId) => presence.watchersOf(userId),
  });
  const send = createSend({ ...deps, delivery, now, maxMsgChars: opts.maxMsgChars, redeliverResends: opts.redeliverResends, storeTimeoutMs: opts.storeTimeoutMs ?? 3000 });
  const receipts = createReceipts({ ...deps, delivery });
  const reads = createReads({ ...deps, delivery });
  const presence = createPresence({
    presence: deps.presence, sessions, routeTo: (e, targets) => delivery.routeTo(e, targets), log, now, schedule, track: (work) => void inFlight.track(work),
    graceMs: opts.presenceGraceMs ?? 2500, maxSubscriptions: opts.presenceSubscriptionsMax ?? 256,
  });
  const editWindowMs = opts.editWindowMs ?? DEFAULT_EDIT_WINDOW_MS;
  const edits = createEdits({ ...deps, delivery, now, stored: (msg) => send.stored(msg), maxMsgChars: opts.maxMsgChars, editWindowMs });
  const typing = createTyping({ groups: deps.groups, route: (e) => delivery.route(e), now, ratePerConn: opts.typingRatePerConn ?? 2 });

  function reply(state: ConnState, text: string, kind: "ack" | "error" | "replay" | "catch_up"): void {
    metrics.frameOut(kind);
    sendTo(state, text);
  }
  /** Sends an error frame; with the refused frame's clientMsgId when it had one. */
  function fail(state: ConnState, code: ErrorCode, message: string, clientMsgId?: string | null): void {
    metrics.error(code);
    reply(state, encodeError(code, message, clientMsgId), "error");
  }
  const connect = createConnect({
    ...deps,
    sessions,
    replayMax: opts.replayMax,
    maxConnsPerUser: opts.maxConnsPerUser,
    replayed: (state, text) => reply(state, text, "replay"),
    caughtUp: (state, text) => reply(state, text, "catch_up"),
    routeCacheMs,
    now,
    schedule,
    track: (work) => void inFlight.track(work),
    fail,
    userBound: (userId) => presence.userBound(userId),
    userLeft: (userId) => presence.userLeft(userId),
    countsChanged() {
      deps.counts.set(sessions.onlineCounts);
      metrics.online(sessions.onlineCounts, sessions.onlineUsers);
    },
  });

  /**
   * The ack of a stored row (a message; a recall's, edit's or delete's event): what it names, and to a
   * connection with "seq" its positions, so that the sending device holds its own places too.
   */
  function savedAck(state: ConnState, clientMsgId: string, saved: SaveResult): string {
    const ack = { clientMsgId, msgId: saved.msgId, chatTime: saved.chatTime };
    return encodeAck(saved.seq && state.features?.has("seq") ? { ...ack, seq: saved.seq } : ack);
  }

  /** Handles a presence, typing, read, recall, edit or delete frame (lib/protocol/features.ts); resolves to its ack, if any; throws a Refusal. */
  async function handleFeature(state: ConnState, request: FeatureRequest): Promise<string | undefined> {
    metrics.frameIn(request.kind);
    const userId = state.userId;
    if (userId === undefined) return refuse(ErrorCode.NOT_INITIALIZED, "send CONNECT_INIT (msgType 0) first");
    const feature = featureOf(request.kind);
    if (!state.features?.has(feature)) {
      return refuse(ErrorCode.BAD_FRAME, `declare "${feature}" in CONNECT_INIT's "features" to use ${request.kind} frames`);
    }
    if (request.kind === "reads") {
      const read = await reads.mark(userId, request.receiverId, request.msgId, state.conn.id);
      return request.clientMsgId ? encodeAck({ clientMsgId: request.clientMsgId, ...read }) : undefined;
    }
    if (request.kind === "presence") await presence.subscribe(state, request.subscribe, request.unsubscribe);
    else if (request.kind === "typing") await typing.relay(state, userId, request.receiverId, request.stop);
    else {
      const saved = await edits.handle(userId, state.conn.id, request);
      return request.clientMsgId ? savedAck(state, request.clientMsgId, saved) : undefined;
    }
    return request.clientMsgId ? encodeAck({ clientMsgId: request.clientMsgId }) : undefined;
  }

  /** Handles one decoded frame; resolves to the ack to send, if any; throws a Refusal. */
  async function handle(state: ConnState, { chatMsg, features, seqs }: DataContent): Promise<string | undefined> {
    const type = chatMsg.msgType;
    // Known types only: a label per client-chosen number would grow the metrics without bound.
    metrics.frameIn(type != null && KNOWN_TYPES.has(type) ? String(type) : "other");
    const clientMsgId = chatMsg.clientMsgId;
    if (type === MsgType.CONNECT_INIT) {
      // Features are declared by the CONNECT_INIT that binds the connection, before it is routable.
      const declared = state.userId === undefined && features ? knownFeatures(features) : undefined;
      if (declared) state.features = new Set(declared);
      const replay = await connect.init(state, chatMsg, seqs);
      if (replay?.replayed !== undefined) metrics.replayed?.(replay.replayed, replay.recovered ?? false);
      // A connection that declared "edit" learns the window, so that it offers recall and edit only within it.
      const ackFeatures = state.features && features ? { features: [...state.features], ...(state.features.has("edit") ? { editWindowMs } : {}) } : undefined;
      return state.closed || !clientMsgId ? undefined : encodeAck({ clientMsgId, ...replay, ...ackFeatures });
    }
    if (type === MsgType.KEEPALIVE) return undefined;
    if (type == null || (!CHAT_TYPES.has(type) && type !== MsgType.SIGNED)) {
      return refuse(ErrorCode.BAD_FRAME, `chatMsg.msgType: unknown type ${type ?? "(missing)"}; expected 0–4, 8 or 9`);
    }
    const userId = state.userId;
    if (userId === undefined) return refuse(ErrorCode.NOT_INITIALIZED, "send CONNECT_INIT (msgType 0) first");
    if (chatMsg.senderId != null && chatMsg.senderId !== userId) {
      return refuse(ErrorCode.FORBIDDEN, "chatMsg.senderId must be the user this connection is bound to");
    }
    if (type === MsgType.SIGNED) {
      await receipts.sign(chatMsg.msgId, userId, state.conn.id);
      return clientMsgId ? encodeAck({ clientMsgId, msgId: chatMsg.msgId! }) : undefined;
    }
    const started = performance.now();
    const saved = await send.chat(userId, state.conn.id, chatMsg);
    metrics.acked?.((performance.now() - started) / 1000);
    return clientMsgId ? savedAck(state, clientMsgId, saved) : undefined;
  }

  async function handleText(state: ConnState, text: string): Promise<void> {
    const decoded = decodeClient(text);
    if (!decoded.ok) {
      metrics.frameIn("invalid");
      return fail(state, decoded.code, decoded.message, decoded.clientMsgId);
    }
    const clientMsgId = decoded.frame ? decoded.frame.chatMsg.clientMsgId : decoded.request.clientMsgId;
    try {
      const ack = decoded.frame ? await handle(state, decoded.frame) : await handleFeature(state, decoded.request);
      if (ack) reply(state, ack, "ack");
    } catch (err) {
      if (!(err instanceof Refusal)) {
        log.error("frame.failed", { conn: state.conn.id, err });
        return fail(state, ErrorCode.UNAVAILABLE, "the server could not handle this frame: try again", clientMsgId);
      }
      fail(state, err.code, err.message, clientMsgId);
      if (err.closeWith) state.conn.close(...err.closeWith);
    }
  }

  return {
    sessions,

    open(conn: Conn): void {
      states.set(conn, { conn, closed: false });
      metrics.connections(states.size);
    },

    /** Handles one text frame. Never throws: failures become error frames. */
    message(conn: Conn, text: string): Promise<void> {
      const state = states.get(conn);
      if (!state || state.closed) return Promise.resolve();
      return inFlight.track(handleText(state, text));
    },

    /** Catches every local connection up from `sinceMs` (after a lost registry session: lib/core/membership.ts). */
    catchUpAll: (sinceMs: number) => connect.catchUpAll(sinceMs),
    /** This instance lost sight of the registry: each connection keeps the positions it has (where catchUpAll starts). */
    registryLost: () => connect.registryLost(),

    /** Tells a connection its frame was refused before the core saw it (rate limit, binary frame). */
    refuse(conn: Conn, code: ErrorCode, message: string): void {
      const state = states.get(conn);
      if (state && !state.closed) fail(state, code, message);
    },

    close(conn: Conn): void {
      const state = states.get(conn);
      if (!state || state.closed) return;
      state.closed = true;
      states.delete(conn);
      metrics.connections(states.size);
      presence.dropConn(state);
      connect.closed(state);
    },

    /** Read receipts for the HTTP route: the same rule as SIGNED (see lib/core/receipts.ts). */
    sign: (msgId: string, signer: string | undefined) => receipts.sign(msgId, signer),

    broadcast: (text: string) => send.broadcast(text),

    /**
     * A chat message the app's backend sends as `senderId` (HTTP): the checks and the pipeline of a
     * frame, its `clientMsgId` the idempotency key (the same key from the same sender is stored and
     * delivered once); every connection of the audience gets it, the sender's own included.
     * Throws a Refusal.
     */
    async sendAs(senderId: string, chatMsg: unknown): Promise<SaveResult> {
      const decoded = decodeValue({ chatMsg });
      if (!decoded.ok) return refuse(decoded.code, decoded.message);
      const type = decoded.frame.chatMsg.msgType;
      if (type == null || !CHAT_TYPES.has(type)) return refuse(ErrorCode.BAD_FRAME, `msgType: ${type ?? "(missing)"} is not a chat message type (1–4)`);
      return send.chat(senderId, "backend", decoded.frame.chatMsg);
    },

    /** A recall, edit or delete of `userId` over HTTP: the rules of its frame; every connection of the audience gets it. Throws a Refusal. */
    editAs: (userId: string, request: EditRequest) => edits.handle(userId, "http", request),

    /** Group read state for the HTTP routes: mark read, who read a message, each member's state (lib/core/reads.ts). */
    markGroupRead: (userId: string, groupId: string, msgId: string | undefined) => reads.mark(userId, groupId, msgId),
    whoRead: (userId: string, groupId: string, msgId: string | undefined) => reads.whoRead(userId, groupId, msgId),
    readState: (userId: string, groupId: string, page: number, pageSize: number) => reads.state(userId, groupId, page, pageSize),

    /** Presence of many users (the HTTP query). */
    presenceOf: (userIds: readonly string[]) => presence.query(userIds),

    /** Writes presence again: users watched and online here (the presence store reconnected and may have lost it). */
    resyncPresence: () => presence.resync(),

    /** Users of an instance that left, once its routes were purged: announced offline unless held elsewhere. */
    usersGone: (userIds: readonly string[]) => presence.usersGone(userIds),

    /** Waits out the presence grace of users whose last device here just left, then runs their offline checks (a stop). */
    async settlePresence(graceMs: number): Promise<void> {
      if (!presence.pending) return;
      await new Promise((r) => setTimeout(r, graceMs));
      presence.flush();
      await inFlight.idle();
      await delivery.idle();
    },

    /** An envelope another instance published: deliver it to the connections here. */
    deliverRemote: (envelope: Envelope) => delivery.remote(envelope),

    /** Resolves once every frame under way was handled and its deliveries handed to the bus. */
    async idle(): Promise<void> {
      await inFlight.idle();
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
