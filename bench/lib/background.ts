// Watches what else runs on the machine while a benchmark runs: CPU of this benchmark's process tree, of
// the shared services (RabbitMQ, Redis, ZooKeeper, PostgreSQL) and of everything else (e.g. someone's test
// suite), sampled from /proc every 500 ms, and whether RabbitMQ and Redis stayed up (the fault tests stop
// them), so a reader can tell a noisy or disturbed run from a quiet one.
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100;
const SERVICES = /beam\.smp|redis-server|zookeeper|postgres/;

interface ProcSample {
  ppid: number;
  ticks: number;
  cmd: string;
}

function readProcs(): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      let cmd = out.get(Number(name))?.cmd ?? "";
      if (!cmd) cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ").slice(0, 200);
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), cmd });
    } catch {} // gone meanwhile
  }
  return out;
}

export interface CpuShares {
  /** % of one core, averaged over the watched time. */
  benchmark: number;
  services: number;
  other: number;
  seconds: number;
  /** Probes (every 500 ms) that found RabbitMQ's or Redis's port closed, e.g. while a fault test stopped it. */
  outages: { rabbitmq: number; redis: number };
}

/** True when a TCP connection to 127.0.0.1:`port` opens within 1 s. */
async function listening(port: number): Promise<boolean> {
  try {
    const socket = await Promise.race([
      Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }),
      Bun.sleep(1000).then(() => null),
    ]);
    socket?.end();
    return socket !== null;
  } catch {
    return false;
  }
}

/** Starts sampling; `stop()` returns the average CPU of each group. */
export function watchBackground(): { stop(): CpuShares } {
  const self = process.pid;
  let prev = readProcs();
  const sums = { benchmark: 0, services: 0, other: 0 };
  const t0 = performance.now();
  const outages = { rabbitmq: 0, redis: 0 };
  const probe = async () => {
    const [rabbit, redis] = await Promise.all([listening(5672), listening(6379)]);
    if (!rabbit) outages.rabbitmq++;
    if (!redis) outages.redis++;
  };
  const sample = () => {
    void probe();
    const now = readProcs();
    const ours = (pid: number) => {
      for (let p = pid, hops = 0; p > 1 && hops < 20; p = now.get(p)?.ppid ?? 0, hops++) if (p === self) return true;
      return false;
    };
    for (const [pid, s] of now) {
      const before = prev.get(pid)?.ticks ?? 0; // a process born since the last sample: all its time is new
      const delta = s.ticks - before;
      if (delta <= 0) continue;
      const group = ours(pid) ? "benchmark" : SERVICES.test(s.cmd) ? "services" : "other";
      sums[group] += delta;
    }
    prev = now;
  };
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const seconds = (performance.now() - t0) / 1000;
      const pct = (ticks: number) => (ticks * 100) / CLK_TCK / seconds;
      return { benchmark: pct(sums.benchmark), services: pct(sums.services), other: pct(sums.other), seconds, outages };
    },
  };
}
