// The chat connection: asks getNettyOnlineInfo for an instance, speaks SPEC §7 over a WebSocket,
// keeps it alive, and when it closes reconnects with backoff and full jitter to a freshly chosen one.
import { backoffDelay, randomId, wsUrlsFor } from "./format.js";

const KEEPALIVE_MS = 20_000;
const OPEN_TIMEOUT_MS = 5000;
const INIT_TIMEOUT_MS = 10_000;

function closeReason(e) {
  if (e.code === 1001) return "the server went away";
  if (e.code === 1006) return "the connection was lost";
  return `closed (${e.code}${e.reason ? `: ${e.reason}` : ""})`;
}

function openSocket(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => socket.close(), OPEN_TIMEOUT_MS);
    socket.onopen = () => (clearTimeout(timer), resolve(socket));
    socket.onclose = () => (clearTimeout(timer), reject(new Error(`could not open ${url}`)));
  });
}

/**
 * Creates a connection for one user. Callbacks:
 * - `onState({state, node, reason, retryAt})`: state is "connecting" (never live yet), "online" or "reconnecting"
 * - `onFrame(frame, live)`: a DataContent or a feature frame; `live` is false for frames before the
 *   CONNECT_INIT ack (replay)
 * - `onAck(ack)`, `onError(error)`: the server's `{"ack"}` and `{"error"}` replies
 * - `onLive(ack)`: CONNECT_INIT was acknowledged: replay is done and live delivery has begun
 *   (`ack.recovered === false`: the replay was cut or failed, history holds the rest)
 * `lastMsgId()` names the last message seen, so the server replays what came after it; `features()`
 * the server's feature frames this client understands (declared in CONNECT_INIT).
 */
export function createConnection({ userId, token = "", api, lastMsgId, features = () => [], onState, onFrame, onAck, onError, onLive }) {
  let ws = null;
  let live = false;
  let stopped = false;
  let everLive = false;
  let node = null;
  let wake = null;
  const reachedVia = new Map(); // advertised ip -> index of the URL of wsUrlsFor that worked

  const pending = () => (everLive ? "reconnecting" : "connecting");
  const state = (name, extra = {}) => stopped || onState({ state: name, node, ...extra });

  /** Runs one socket until it closes; resolves `{wentLive, reason}`. */
  function run(socket) {
    return new Promise((resolve) => {
      ws = socket;
      let wentLive = false;
      let keepalive;
      const initId = `init-${randomId()}`;
      const initTimer = setTimeout(() => socket.close(4000, "no answer to CONNECT_INIT"), INIT_TIMEOUT_MS);
      socket.onmessage = (e) => {
        let f;
        try {
          f = JSON.parse(e.data);
        } catch {
          return;
        }
        if (f.ack && f.ack.clientMsgId === initId) {
          clearTimeout(initTimer);
          live = wentLive = everLive = true;
          keepalive = setInterval(() => socket.send(JSON.stringify({ chatMsg: { msgType: 9 } })), KEEPALIVE_MS);
          state("online");
          onLive(f.ack);
        } else if (f.ack) onAck(f.ack);
        else if (f.error) onError(f.error);
        else if (f && typeof f === "object") onFrame(f, live);
      };
      socket.onclose = (e) => {
        clearTimeout(initTimer);
        clearInterval(keepalive);
        if (ws === socket) {
          ws = null;
          live = false;
        }
        resolve({ wentLive, reason: closeReason(e) });
      };
      const after = lastMsgId();
      // "features": a feature's frames (presence, typing, …) come only to connections that declare it.
      socket.send(JSON.stringify({ chatMsg: { senderId: userId, msgType: 0, clientMsgId: initId, ...(after ? { msgId: after } : {}) }, features: features() }));
    });
  }

  /** One attempt: choose an instance, open its socket, run it. */
  async function attempt() {
    state(pending(), { reason: "asking for an instance" });
    let info;
    try {
      info = await api.onlineInfo();
      if (!info || !info.port) throw new Error("no instance in the answer");
    } catch (err) {
      return { wentLive: false, reason: `no instance: ${err.message}` };
    }
    const target = `${info.ip}:${info.port}`;
    state(pending(), { reason: `connecting to ${target}` });
    const urls = wsUrlsFor(info.ip, info.port, location, token);
    const first = reachedVia.get(info.ip) ?? 0; // an address that needed the fallback once needs it again
    for (const url of [urls[first] ?? urls[0], ...urls.filter((_, i) => i !== first)]) {
      if (stopped) return { wentLive: false };
      const socket = await openSocket(url).catch(() => null);
      if (!socket) continue;
      reachedVia.set(info.ip, urls.indexOf(url));
      if (stopped) {
        socket.close(1000);
        return { wentLive: false };
      }
      node = { ip: info.ip, port: info.port };
      return run(socket);
    }
    return { wentLive: false, reason: `${target} did not accept the connection` };
  }

  async function loop() {
    let failures = 0;
    while (!stopped) {
      const result = await attempt();
      if (stopped) break;
      if (result.wentLive) failures = 0;
      const delayMs = backoffDelay(failures++);
      state(pending(), { reason: result.reason, retryAt: Date.now() + delayMs });
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        wake = () => (clearTimeout(timer), resolve(undefined));
      });
      wake = null;
    }
  }

  const retryNow = () => wake?.();
  return {
    start() {
      addEventListener("online", retryNow);
      void loop();
    },
    /** Closes for good (sign out, page unload). */
    stop() {
      stopped = true;
      removeEventListener("online", retryNow);
      wake?.();
      ws?.close(1000, "client closed");
    },
    /** Sends a frame on the live socket; false when there is none (the caller keeps it for later). */
    send(frame) {
      if (!ws || !live || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(frame));
      return true;
    },
    /** Skips the rest of a backoff wait. */
    retryNow,
    get live() {
      return live;
    },
  };
}
