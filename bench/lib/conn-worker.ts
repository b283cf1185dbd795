// A client process holding many WebSocket connections, driven by the storm and memory benchmarks over
// stdin/stdout lines. One process stays well under the fd limit (`ulimit -n`); the benchmarks start several.
//
//   bun bench/lib/conn-worker.ts '{"urls":["ws://127.0.0.1:p/ws"],"count":2500,"prefix":"u0-","offset":0}'
// stdin:  "init"  -> CONNECT_INIT on every connection at once;  "close" -> close them all and exit.
// stdout: {"event":"open",...} once all are open, {"event":"acked",...} once every init is acked,
//         {"event":"closed"} before exiting. Connection j goes to urls[(offset + j) % urls.length].

interface Args {
  urls: string[];
  count: number;
  prefix: string;
  offset: number;
  /** Opens in flight at once while connecting (default 200). */
  concurrency?: number;
  /** Bound on each phase (default 60 000). */
  timeoutMs?: number;
}

const args = JSON.parse(process.argv[2]) as Args;
const timeoutMs = args.timeoutMs ?? 60_000;
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");
const sockets: WebSocket[] = new Array(args.count);
let acked = 0;
let initStarted = 0;
let onAllAcked: (() => void) | undefined;
const errors: Record<string, number> = {};

function open(j: number): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(args.urls[(args.offset + j) % args.urls.length]);
    ws.onopen = () => resolve();
    ws.onerror = () => {
      errors.connect = (errors.connect ?? 0) + 1;
      resolve();
    };
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data as string);
      if (f.ack?.clientMsgId === "i") {
        if (++acked === args.count) onAllAcked?.();
      } else if (f.error) errors[f.error.code] = (errors[f.error.code] ?? 0) + 1;
    };
    sockets[j] = ws;
  });
}

const t0 = performance.now();
let next = 0;
await Promise.race([
  Promise.all(
    Array.from({ length: Math.min(args.concurrency ?? 200, args.count) }, async () => {
      while (next < args.count) await open(next++);
    }),
  ),
  Bun.sleep(timeoutMs),
]);
const opened = sockets.filter((ws) => ws?.readyState === WebSocket.OPEN).length;
emit({ event: "open", n: opened, ms: performance.now() - t0, errors });

async function init(): Promise<void> {
  initStarted = performance.now();
  const done = new Promise<void>((resolve) => (onAllAcked = resolve));
  for (let j = 0; j < args.count; j++) {
    const ws = sockets[j];
    if (ws?.readyState === WebSocket.OPEN) ws.send(`{"chatMsg":{"senderId":"${args.prefix}${j}","msgType":0,"clientMsgId":"i"}}`);
  }
  const sentMs = performance.now() - initStarted;
  await Promise.race([done, Bun.sleep(timeoutMs)]);
  emit({ event: "acked", n: acked, ms: performance.now() - initStarted, sentMs, errors });
}

async function close(): Promise<void> {
  for (const ws of sockets) ws?.close();
  await Bun.sleep(200);
  emit({ event: "closed" });
  process.exit(0);
}

let buf = "";
const stdin = Bun.stdin.stream().getReader();
for (;;) {
  const { value: chunk, done } = await stdin.read();
  if (done) break;
  buf += new TextDecoder().decode(chunk);
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const cmd = buf.slice(0, i).trim();
    buf = buf.slice(i + 1);
    if (cmd === "init") void init();
    else if (cmd === "close") await close();
  }
}
await close(); // stdin closed: the coordinator is gone
