// Probing a port before the server binds it: the instance's id (`<ip>_<port>`) is needed by the
// adapters and the core, which exist before the server listens.
import { checkPrivilegedPort } from "../config.ts";

/** A port bound and held until `release()`. */
export interface HeldPort {
  readonly port: number;
  /** Lets go of it (idempotent): call it in the same turn as the server's bind. */
  release(): void;
}

/**
 * Binds `port` on `host` (`0`: one the system picks) and keeps it bound until `release()`: while
 * the instance starts (its connections to ZooKeeper, Redis, RabbitMQ, the store are made meanwhile),
 * no outgoing connection of this or another process can take it as its ephemeral local port, which
 * would make the server's bind fail. Throws EADDRINUSE (or EACCES) as the server's bind would.
 */
export function holdPort(host: string, port: number): HeldPort {
  checkPrivilegedPort(port); // says how to pick another port instead of a bare EACCES
  const listener = Bun.listen({ hostname: host, port, socket: { data() {} } });
  let held = true;
  return {
    port: listener.port,
    release() {
      if (held) listener.stop(true);
      held = false;
    },
  };
}

/** Binds `port` on `host` for a moment and returns the port bound (`0`: one the system picks). */
export function probePort(host: string, port: number): number {
  const held = holdPort(host, port);
  held.release();
  return held.port;
}
