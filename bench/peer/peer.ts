// Starts N Socket.IO peer nodes (bench/peer/socketio-server.ts) on one Redis, under Node or Bun.
import type { Subprocess } from "bun";
import { join } from "node:path";
import { BENCH_DIR, progress, REDIS_DB, ROOT, run } from "../lib/common.ts";

export type PeerRuntime = "node" | "bun";

export interface Peer {
  runtime: PeerRuntime;
  urls: string[];
  pids: number[];
  stop(): Promise<void>;
}

const SERVER_TS = join(BENCH_DIR, "peer/socketio-server.ts");
const SERVER_MJS = join(BENCH_DIR, ".build/socketio-server.mjs");

/** Node cannot run TypeScript (v20): bundle the server for it, keeping node_modules imports external. */
async function buildForNode(): Promise<string> {
  await run(["bun", "build", SERVER_TS, "--target=node", "--packages=external", `--outfile=${SERVER_MJS}`]);
  return SERVER_MJS;
}

/** Starts `size` nodes sharing a fresh adapter key and resolves once each one listens. */
export async function startPeer(size: number, runtime: PeerRuntime = "node"): Promise<Peer> {
  const cmd = runtime === "node" ? ["node", await buildForNode()] : ["bun", SERVER_TS];
  const key = `bench-sio-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const procs: Subprocess<"ignore", "pipe", "inherit">[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const proc = Bun.spawn(cmd, {
        cwd: ROOT,
        env: { ...process.env, PORT: "0", REDIS_URL: `redis://127.0.0.1:6379/${REDIS_DB}`, SIO_KEY: key, NODE_ENV: "production" },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "inherit",
      });
      procs.push(proc);
      const reader = proc.stdout.getReader();
      let buf = "";
      const deadline = Date.now() + 15_000;
      for (;;) {
        const m = /listening on [^ ]+:(\d+)/.exec(buf);
        if (m) {
          ports.push(Number(m[1]));
          break;
        }
        if (Date.now() > deadline) throw new Error(`socket.io peer did not listen within 15 s: ${buf}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`socket.io peer exited: ${buf}`);
        buf += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
    }
  } catch (err) {
    for (const p of procs) p.kill("SIGKILL");
    throw err;
  }
  progress(`socket.io peer (${runtime}) of ${size} up, ports ${ports.join(",")}`);
  return {
    runtime,
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    pids: procs.map((p) => p.pid),
    async stop() {
      for (const p of procs) p.kill("SIGTERM");
      await Promise.all(procs.map((p) => Promise.race([p.exited, Bun.sleep(5000).then(() => p.kill("SIGKILL"))])));
    },
  };
}
