// Standalone port: PORT, or PORT_BASE; nobody else keeps a book of ports.
import type { PortLease } from "../../core/ports.ts";
import { probePort } from "../port-probe.ts";

/** Leases `port` (0: a free one the system picks, e.g. in tests). */
export function leaseFixedPort(host: string, port: number): PortLease {
  const leased = port === 0 ? probePort(host, 0) : port;
  return {
    port: leased,
    renew: async () => {},
    isHeld: async () => true,
    releaseOther: async () => {},
  };
}
