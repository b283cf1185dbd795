// Standalone port: PORT, or PORT_BASE; nobody else keeps a book of ports.
import type { PortLease } from "../../core/ports.ts";
import { holdPort } from "../port-probe.ts";

/** Leases `port` (0: a free one the system picks, e.g. in tests, held until `unhold()`). */
export function leaseFixedPort(host: string, port: number): PortLease {
  const held = port === 0 ? holdPort(host, 0) : undefined;
  return {
    port: held?.port ?? port,
    unhold: () => held?.release(),
    renew: async () => {},
    isHeld: async () => true,
    releaseOther: async () => {},
  };
}
