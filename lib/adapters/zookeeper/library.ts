// What this project uses of node-zookeeper-client beside its client: create modes, event types,
// the error codes callers branch on, and ending a raw client for good.
import * as zk from "node-zookeeper-client";

export const CreateMode = zk.CreateMode;
export const ZkEventType = zk.Event;

/** The ZooKeeper error codes callers branch on. */
export const ZkCode = {
  CONNECTION_LOSS: zk.Exception.CONNECTION_LOSS,
  NO_NODE: zk.Exception.NO_NODE,
  NODE_EXISTS: zk.Exception.NODE_EXISTS,
  SESSION_EXPIRED: zk.Exception.SESSION_EXPIRED,
} as const;

/** The code of a ZooKeeper error, undefined for anything else. */
export function zkCode(err: unknown): number | undefined {
  return err instanceof zk.Exception ? err.getCode() : undefined;
}

// The library's own factory (missing from its type definitions), so that zkCode() reads our errors too.
export const zkError = (code: number): Error => (zk.Exception as unknown as { create(code: number): Error }).create(code);


// Reaches into the library for its socket: it has no read timeout of its own.
export function socketOf(raw: zk.Client): { destroy(): void } | undefined {
  return (raw as unknown as { connectionManager?: { socket?: { destroy(): void } } }).connectionManager?.socket;
}

/**
 * Ends a client, also one still trying to connect (the library would otherwise retry forever). The
 * socket goes at once: close() queues CLOSE_SESSION at xid 0, and an attempt's ConnectResponse
 * arriving later on the same socket (a silent link that heals just after the attempt was given up)
 * was read as that request's reply, its session id taken for an error code, and the library threw
 * `Unknown code` from its socket handler: an uncaught exception that ended the instance. A live
 * session is closed by ZkClient.close(), which waits for the server's answer before calling this.
 */
export function shutdown(raw: zk.Client): void {
  raw.removeAllListeners();
  try {
    raw.close(); // CLOSING: a closed socket is not reopened
  } catch {} // close() on a client with no socket yet throws inside the library
  socketOf(raw)?.destroy();
}

