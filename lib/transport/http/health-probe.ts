// `im-server --health`: the container's HEALTHCHECK without curl or bun in the image. The binary
// asks its own running instance's /health and exits 0 when it answers 200.
import type { Config } from "../../config.ts";

/** Where the running instance listens, seen from inside its container or host. */
export function probeUrl(config: Pick<Config, "bindHost" | "port" | "portBase">): string {
  const host = config.bindHost === "0.0.0.0" || config.bindHost === "::" ? "127.0.0.1" : config.bindHost;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port ?? config.portBase}/health`;
}

/** True when `url` answers 200 within `timeoutMs` (/health bounds its own checks at 1.5 s). */
export async function probeHealth(url: string, timeoutMs = 2500): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
