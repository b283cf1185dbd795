// Test hosts on one machine: a bridge in the root network namespace and one namespace per host,
// each joined to the bridge by a veth pair, in a private /24 chosen per run. Only the bridge's own
// addresses and the hosts' addresses receive traffic (no default route, no forwarding); a host
// reaches the services through forwarders the caller binds on the bridge's addresses.
import { existsSync } from "node:fs";

export interface NetHosts {
  /** Namespace names, one per host. */
  readonly names: string[];
  /** Each host's address. */
  readonly ips: string[];
  /** The root namespace's addresses on the bridge, one per service, for forwarders to bind. */
  readonly serviceIps: string[];
  /** The prefix that runs a command on host `i` (`ip netns exec <ns>`). */
  exec(i: number): string[];
  /** Removes every namespace, link and address this run made; safe to call twice. */
  destroy(): void;
}

function run(args: string[]): { ok: boolean; out: string } {
  const p = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  return { ok: p.exitCode === 0, out: `${p.stdout.toString()}${p.stderr.toString()}`.trim() };
}

function must(args: string[]): void {
  const r = run(args);
  if (!r.ok) throw new Error(`${args.join(" ")}: ${r.out}`);
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "network namespaces need root (run the tests as root)";
  if (!Bun.which("ip")) return "no `ip` command (install iproute2)";
  const probe = `improbe${process.pid.toString(36)}`.slice(0, 15);
  const r = run(["ip", "netns", "add", probe]);
  if (!r.ok) return `ip netns add failed: ${r.out}`;
  run(["ip", "netns", "del", probe]);
  return undefined;
}

/** A 10.77.x.0/24 that no interface or route of this machine uses yet. */
function freeSubnet(): string {
  const used = run(["ip", "-4", "-o", "addr"]).out + "\n" + run(["ip", "-4", "route"]).out;
  for (let tries = 0; tries < 64; tries++) {
    const x = Math.floor(Math.random() * 254) + 1;
    const prefix = `10.77.${x}.`;
    if (!used.includes(prefix)) return prefix;
  }
  throw new Error("no free 10.77.x.0/24 found for the test hosts");
}

/** Names are `imh|imb|imv|imp` + the creator's pid (5 base-36 digits) + 2 random + the host index. */
const OURS = /^im[hbvp]([0-9a-z]{5})[0-9a-z]{2}\d*$/;

/** Removes namespaces and links left by runs whose process is gone (a crash skipped afterAll). */
function sweepStale(): void {
  const dead = (name: string) => {
    const m = OURS.exec(name);
    return m !== null && !existsSync(`/proc/${parseInt(m[1], 36)}`);
  };
  for (const line of run(["ip", "netns", "list"]).out.split("\n")) {
    const ns = line.split(" ")[0];
    if (ns && dead(ns)) run(["ip", "netns", "del", ns]);
  }
  for (const line of run(["ip", "-o", "link", "show"]).out.split("\n")) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name && dead(name) && !name.startsWith("imp")) run(["ip", "link", "del", name]);
  }
}

/**
 * Makes `hosts` namespaces on a new bridge with `services` extra bridge addresses. Names carry
 * this process's id and a random tag, so runs never share anything.
 */
export function createNetHosts(hosts: number, services: number): NetHosts {
  sweepStale();
  const tag = `${process.pid.toString(36).padStart(5, "0")}${Math.random().toString(36).slice(2, 4).padEnd(2, "0")}`;
  const net = freeSubnet();
  const bridge = `imb${tag}`;
  const names = Array.from({ length: hosts }, (_, i) => `imh${tag}${i}`);
  const ips = names.map((_, i) => `${net}${11 + i}`);
  const serviceIps = Array.from({ length: services }, (_, i) => `${net}${2 + i}`);
  let destroyed = false;
  const created: { ns: string[]; bridge: boolean } = { ns: [], bridge: false };

  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of created.ns) run(["ip", "netns", "del", ns]);
    // A namespace is torn down asynchronously; delete the outer ends now rather than later.
    created.ns.forEach((_, i) => run(["ip", "link", "del", `imv${tag}${i}`]));
    if (created.bridge) run(["ip", "link", "del", bridge]);
  };

  try {
    must(["ip", "link", "add", bridge, "type", "bridge"]);
    created.bridge = true;
    must(["ip", "addr", "add", `${net}1/24`, "dev", bridge]);
    for (const ip of serviceIps) must(["ip", "addr", "add", `${ip}/32`, "dev", bridge]);
    must(["ip", "link", "set", bridge, "up"]);
    names.forEach((ns, i) => {
      const outer = `imv${tag}${i}`;
      const inner = `imp${tag}${i}`;
      must(["ip", "netns", "add", ns]);
      created.ns.push(ns);
      must(["ip", "link", "add", outer, "type", "veth", "peer", "name", inner]);
      must(["ip", "link", "set", outer, "master", bridge]);
      must(["ip", "link", "set", outer, "up"]);
      must(["ip", "link", "set", inner, "netns", ns]);
      must(["ip", "-n", ns, "addr", "add", `${ips[i]}/24`, "dev", inner]);
      must(["ip", "-n", ns, "link", "set", inner, "up"]);
      must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    });
  } catch (err) {
    destroy();
    throw err;
  }
  return { names, ips, serviceIps, exec: (i) => ["ip", "netns", "exec", names[i]], destroy };
}
