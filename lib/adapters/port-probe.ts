// Probing a port before the server binds it: the instance's id (`<ip>_<port>`) is needed by the
// adapters and the core, which exist before the server listens.
import { checkPrivilegedPort } from "../config.ts";

/**
 * Binds `port` on `host` for a moment and returns the port bound (`0`: one the system picks).
 * Throws EADDRINUSE (or EACCES) as the server's bind would.
 */
export function probePort(host: string, port: number): number {
  checkPrivilegedPort(port); // says how to pick another port instead of a bare EACCES
  const listener = Bun.listen({ hostname: host, port, socket: { data() {} } });
  const bound = listener.port;
  listener.stop(true);
  return bound;
}
