// Runs faults one after another on a host cluster under steady load and judges each with the
// checker: warm-up, the fault, the heal, load on after it, then a bounded settle; per fault the
// convergence of onlineCounts (ZooKeeper server-list data) and routes (Redis) to what the clients
// hold, and whether every acked message is in the store (HTTP /chat/list).
import { Checker, type FaultRow } from "./checker.ts";
import { OK, type Fault } from "./fault-forwarder.ts";
import { startHostLoad, type HostLoad } from "./host-load.ts";
import { SERVICES, startHostCluster, type HostCluster, type ServiceName } from "./hosts.ts";
import { existsSync } from "node:fs";
import { eventually } from "./wait.ts";

export interface FaultKind {
  name: string;
  /** Applies the fault to host `host`, keeps it, heals it; resolves at the heal. */
  run(ctx: FaultRunner, host: number): Promise<void>;
}

export interface FaultRunner {
  readonly h: HostCluster;
  readonly checker: Checker;
  readonly load: HostLoad;
  /** Runs `kind` on `host` (named `label`, default the kind's name) and returns its row. */
  run(kind: FaultKind, host: number, label?: string): Promise<FaultRow>;
  stop(): Promise<void>;
}

export interface FaultRunnerOptions {
  hosts: number;
  redisDb: number;
  env?: Record<string, string>;
  /** Load before the fault, after the heal, and the settle bound (ms). */
  warmMs?: number;
  afterMs?: number;
  settleMs?: number;
}

const isLive = (h: HostCluster) => h.c.nodes.filter((n) => n.proc.exitCode === null && !n.proc.killed);

/** Starts the hosts, the instances, the load; faults are then run with `run`. */
export async function startFaultRunner(o: FaultRunnerOptions): Promise<FaultRunner> {
  const h = await startHostCluster({ hosts: o.hosts, redisDb: o.redisDb, env: o.env });
  const checker = new Checker();
  const origins = () => isLive(h).map((n) => `http://${n.ip}:${n.port}`);
  let load: HostLoad;
  try {
    load = await startHostLoad({
      tag: `h${Date.now().toString(36)}`,
      hosts: o.hosts,
      checker,
      origins,
      instanceOn: (host) => h.nodeOn(host)!,
      async createGroup(name, members) {
        const res = await fetch(`${origins()[0]}/chat/group/create`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name, members, ownerId: members[0] }),
        });
        return ((await res.json()) as { data: { groupId: string } }).data.groupId;
      },
    });
  } catch (err) {
    await h.stop();
    throw err;
  }

  const runner: FaultRunner = {
    h,
    checker,
    load,
    async run(kind, host, label = kind.name) {
      checker.phase(label);
      for (let i = 0; i < o.hosts; i++) if (!h.nodeOn(i)) await h.restart(i); // after a crash
      // Every device back on its own host, so that each fault finds the same placement.
      await Promise.all(load.devices.map((d) => d.moveTo(h.nodeOn(d.home)!)));
      load.resume();
      await Bun.sleep(o.warmMs ?? 2000);
      let faulting = true;
      const sampler = (async () => {
        let fewest = Infinity; // instances in the server-list while the fault lasts
        while (faulting) {
          fewest = Math.min(fewest, (await h.c.serverList()).length);
          await Bun.sleep(250);
        }
        return fewest;
      })();
      await kind
        .run(runner, host)
        .catch((err) => {
          h.healAll(); // leave no link cut for the next fault
          throw err;
        })
        .finally(() => (faulting = false));
      checker.fewestListed.set(label, await sampler);
      const convergence = measureConvergence(h, load, 20_000);
      await Bun.sleep(o.afterMs ?? 4000);
      load.pause();
      await eventually(() => checker.unacked(label) === 0 && checker.missing(label).length === 0, o.settleMs ?? 20_000, 200);
      checker.convergence.set(label, await convergence);
      for (const dead of h.crashed()) {
        checker.crashes.set(label, (checker.crashes.get(label) ?? 0) + 1);
        checker.note(`host ${dead.host}: instance exited by itself (${dead.code}):\n${dead.log.join("\n")}`);
      }
      await checkStore(origins()[0], checker, label);
      return checker.row(label);
    },
    async stop() {
      load.stop();
      await h.stop();
    },
  };
  return runner;
}

/** ms from now until the server-list counts, then the routes, match what the clients hold. */
async function measureConvergence(h: HostCluster, load: HostLoad, boundMs: number): Promise<{ counts: number | null; routes: number | null }> {
  const started = Date.now();
  let counts: number | null = null;
  let routes: number | null = null;
  while ((counts === null || routes === null) && Date.now() - started < boundMs) {
    const listed = new Map<string, number>();
    for (const e of await h.c.serverList()) {
      const d = JSON.parse(e.data) as { ip: string; port: number; onlineCounts: number };
      listed.set(`${d.ip}_${d.port}`, d.onlineCounts);
    }
    const held = new Map<string, number>();
    const live = load.devices.filter((d) => d.instance);
    for (const d of live) held.set(d.instance!, (held.get(d.instance!) ?? 0) + 1);
    const countsOk =
      live.length === load.devices.length &&
      [...listed].every(([id, n]) => (held.get(id) ?? 0) === n) &&
      [...held.keys()].every((id) => listed.has(id));
    if (countsOk) counts ??= Date.now() - started;
    if (routes === null) {
      let ok = live.length === load.devices.length;
      for (const user of ok ? load.users : []) {
        const have = (await h.c.redis.hvals(`im:sess:${user}`)).filter((id) => listed.has(id)).sort();
        const want = live.filter((d) => d.user === user).map((d) => d.instance!).sort();
        if (have.join() !== want.join()) ok = false;
      }
      if (ok) routes = Date.now() - started;
    }
    await Bun.sleep(100);
  }
  return { counts, routes };
}

/** Marks in the checker every acked message of `phase` that /chat/list does not hold. */
async function checkStore(origin: string, checker: Checker, phase: string): Promise<void> {
  const byPair = new Map<string, Set<string>>();
  for (const r of checker.ackedSends(phase)) {
    const key = `${r.sender}/${r.to}`;
    if (!byPair.has(key)) byPair.set(key, new Set());
    byPair.get(key)!.add(r.clientMsgId);
  }
  for (const [pair, wanted] of byPair) {
    const ids = new Map([...checker.ackedSends(phase)].filter((r) => wanted.has(r.clientMsgId)).map((r) => [r.msgId!, r.clientMsgId]));
    for (let page = 1; ids.size > 0; page++) {
      const res = await fetch(`${origin}/chat/list/${pair}?page=${page}&pageSize=200`, { method: "POST", signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { data: { total: number; rows: Array<{ msgId: string }> } };
      for (const row of body.data.rows) ids.delete(String(row.msgId));
      if (page >= body.data.total) break;
    }
    for (const clientMsgId of ids.values()) checker.notInStore.add(clientMsgId);
  }
}

/** A fault on some of host's links for `holdMs`, then healed. */
export function linkFault(name: string, services: readonly ServiceName[], fault: Fault, holdMs: number): FaultKind {
  return {
    name,
    async run(ctx, host) {
      ctx.h.fault(host, services, fault);
      ctx.checker.note(`host ${host}: ${name}`);
      await Bun.sleep(holdMs);
      ctx.h.fault(host, services, OK);
      ctx.checker.note(`host ${host}: healed`);
    },
  };
}

/**
 * Cut from `services` (silently) for `holdMs`, the instance SIGKILLed at `killAt` of it (default
 * halfway); started again after the heal.
 */
export function killDuringCut(holdMs: number, services: readonly ServiceName[] = SERVICES, killAt = 0.5): FaultKind {
  const what = services.length === SERVICES.length ? "everything" : services.join("+");
  return {
    name: `kill -9 ${killAt === 0.5 ? "during" : `${Math.round((holdMs * killAt) / 1000)} s into`} a silent cut from ${what} ${holdMs / 1000} s`,
    async run(ctx, host) {
      ctx.h.fault(host, services, { kind: "silent" });
      ctx.checker.note(`host ${host}: cut from ${what}`);
      await Bun.sleep(holdMs * killAt);
      await ctx.h.kill(host);
      ctx.checker.note(`host ${host}: killed`);
      await Bun.sleep(holdMs * (1 - killAt));
      ctx.h.fault(host, services, OK);
      ctx.checker.note(`host ${host}: healed`);
      const n = await ctx.h.restart(host);
      ctx.checker.note(`host ${host}: started again as ${n.ip}_${n.port}`);
    },
  };
}

/** `times` × (cut `cutMs`, healed `healMs`) of `services`. */
export function flapping(services: readonly ServiceName[], fault: Fault, times: number, cutMs: number, healMs: number): FaultKind {
  return {
    name: `flapping ${services.length === SERVICES.length ? "everything" : services.join("+")} ${fault.kind} ${times} × (${cutMs / 1000} s / ${healMs / 1000} s)`,
    async run(ctx, host) {
      for (let i = 0; i < times; i++) {
        ctx.h.fault(host, services, fault);
        await Bun.sleep(cutMs);
        ctx.h.fault(host, services, OK);
        if (i < times - 1) await Bun.sleep(healMs);
      }
    },
  };
}

/** SIGKILL with every link up; started again after `downMs`. */
export function killAndRestart(downMs: number): FaultKind {
  return {
    name: `kill -9, started again after ${downMs / 1000} s`,
    async run(ctx, host) {
      await ctx.h.kill(host);
      ctx.checker.note(`host ${host}: killed`);
      await Bun.sleep(downMs);
      const n = await ctx.h.restart(host);
      ctx.checker.note(`host ${host}: started again as ${n.ip}_${n.port}`);
    },
  };
}

/** libfaketime, which shifts a process's wall clock (Debian: apt-get install libfaketime). */
export const LIBFAKETIME = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1"].find((p) => existsSync(p));

/**
 * The instance on the host restarted with its wall clock `skewMs` ahead (libfaketime; timers run on
 * the real monotonic clock), its devices moved back to it and chatting for `warmMs`; then a silent
 * cut from every service, SIGKILL halfway, and a restart with the right clock.
 */
export function skewedKillDuringCut(skewMs: number, holdMs: number, warmMs = 3000): FaultKind {
  return {
    name: `clock ${skewMs / 1000} s ahead, kill -9 during a silent cut from everything ${holdMs / 1000} s`,
    async run(ctx, host) {
      if (!LIBFAKETIME) throw new Error("libfaketime is not installed (apt-get install libfaketime)");
      await ctx.h.kill(host);
      const skewed = await ctx.h.restart(host, { LD_PRELOAD: LIBFAKETIME, FAKETIME: `+${skewMs / 1000}s`, DONT_FAKE_MONOTONIC: "1" });
      await Promise.all(ctx.load.devices.filter((d) => d.home === host).map((d) => d.moveTo(skewed)));
      ctx.checker.note(`host ${host}: clock ${skewMs} ms ahead`);
      await Bun.sleep(warmMs);
      await killDuringCut(holdMs).run(ctx, host);
    },
  };
}
