// The 1:1 load shape of the throughput and scaling benchmarks: P sender→receiver pairs, a window of
// W messages in flight per pair (closed loop) or a fixed total rate (paced), end-to-end latency
// from the send timestamp carried in the message text to its arrival, in this one process.
import type { Connect, LoadClient } from "./clients.ts";
import { latencySummary, progress } from "./common.ts";

export interface PairLoadOptions {
  connect: Connect;
  pairs: number;
  /** Closed loop: messages each sender keeps un-acked-or-undelivered. Paced: the cap on those. */
  window: number;
  /** Paced mode: total messages per second over all pairs; undefined = closed loop (as fast as it goes). */
  rate?: number;
  warmupMs: number;
  measureMs: number;
  /** Bound on waiting for what is still in flight after the sends stop. */
  drainMs?: number;
  /** Where pair i's sender and receiver connect. */
  senderUrl(i: number): string;
  receiverUrl(i: number): string;
  /** Makes user ids unique per run (a fresh conversation, nothing to replay). */
  tag: string;
  /** Bytes of the message text (timestamp + padding). Default 64. */
  textBytes?: number;
  label?: string;
  /** Called when the measurement window opens and when it closes (e.g. to read CPU counters). */
  onWindow?: (phase: "start" | "end") => void;
}

export interface PairLoadResult {
  pairs: number;
  window: number;
  targetRate: number | null;
  /** Deliveries per second inside the measurement window. */
  msgsPerS: number;
  /** Sends per second inside the measurement window. */
  sentPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Send to ack, at the sender (the part of the latency before the receiver's instance). */
  ackP50Ms: number;
  ackP99Ms: number;
  samples: number;
  sent: number;
  delivered: number;
  acked: number;
  /** Messages never both acked and delivered within the drain bound. */
  unfinished: number;
  /** The unfinished ones by what they lack. */
  unfinishedBy: Record<string, number>;
  /** Paced sends skipped because the pair already had `window` in flight. */
  skipped: number;
  errors: Record<string, number>;
  connectMs: number;
  /** Per second of the window: [deliveries, p50 ms, max ms] (shows stalls and backlogs). */
  timeline: Array<[number, number, number]>;
}

interface Pair {
  i: number;
  sender: LoadClient;
  receiver: LoadClient;
  senderId: string;
  receiverId: string;
  seq: number;
  /** seq -> bits: 1 acked, 2 delivered. */
  flights: Map<number, number>;
  /** seq -> when it was sent (ms), until its ack. */
  sentAt: Map<number, number>;
  nextDueMs: number;
}

/** Runs one load and resolves with its figures; every connection is closed before it returns. */
export async function runPairLoad(o: PairLoadOptions): Promise<PairLoadResult> {
  const label = o.label ?? "load";
  const textBytes = o.textBytes ?? 64;
  const pad = "x".repeat(textBytes);
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const ackLatencies: number[] = [];
  const perSecond: number[][] = [];
  let sent = 0, delivered = 0, acked = 0, skipped = 0;
  let windowSent = 0, windowDelivered = 0;
  let sending = false;
  let closing = false;
  let windowStart = Infinity, windowEnd = Infinity;

  const pairs: Pair[] = [];
  const sendOne = (p: Pair) => {
    const seq = ++p.seq;
    const now = performance.now();
    const head = `${seq} ${now.toFixed(3)} `;
    p.flights.set(seq, 0);
    p.sentAt.set(seq, now);
    p.sender.send(p.receiverId, head + pad.slice(head.length), String(seq));
    sent++;
    if (now >= windowStart && now < windowEnd) windowSent++;
  };
  const settle = (p: Pair, seq: number, bit: number) => {
    const bits = p.flights.get(seq);
    if (bits === undefined) return;
    if ((bits | bit) === 3) {
      p.flights.delete(seq);
      if (sending && o.rate === undefined) sendOne(p);
    } else p.flights.set(seq, bits | bit);
  };

  const started = performance.now();
  const batch = 50; // connect in slices: a listen backlog is not what is measured here
  for (let start = 0; start < o.pairs; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, o.pairs - start) }, async (_, k) => {
        const i = start + k;
        const senderId = `s${i}-${o.tag}`;
        const receiverId = `r${i}-${o.tag}`;
        const pair = { i, senderId, receiverId, seq: 0, flights: new Map(), sentAt: new Map(), nextDueMs: 0 } as unknown as Pair;
        const onError = (code: string) => {
          if (!closing) errors[code] = (errors[code] ?? 0) + 1;
        };
        pair.receiver = await o.connect(o.receiverUrl(i), receiverId, {
          onAck: () => {},
          onError,
          onMessage(text) {
            const now = performance.now();
            const sp = text.indexOf(" ");
            const seq = Number(text.slice(0, sp));
            const sentAt = Number(text.slice(sp + 1, text.indexOf(" ", sp + 1)));
            delivered++;
            if (now >= windowStart && now < windowEnd) {
              windowDelivered++;
              latencies.push(now - sentAt);
              (perSecond[Math.floor((now - windowStart) / 1000)] ??= []).push(now - sentAt);
            }
            settle(pair, seq, 2);
          },
        });
        pair.sender = await o.connect(o.senderUrl(i), senderId, {
          onAck(clientMsgId) {
            acked++;
            const seq = Number(clientMsgId);
            const now = performance.now();
            const at = pair.sentAt.get(seq);
            pair.sentAt.delete(seq);
            if (at !== undefined && now >= windowStart && now < windowEnd) ackLatencies.push(now - at);
            settle(pair, seq, 1);
          },
          onError,
          onMessage: () => {},
        });
        pairs[i] = pair;
      }),
    );
  }
  const connectMs = performance.now() - started;
  progress(`${label}: ${o.pairs} pairs connected in ${connectMs.toFixed(0)} ms; ${o.rate ? `paced at ${o.rate.toFixed(0)} msg/s` : `closed loop, W=${o.window}`}`);

  const t0 = performance.now();
  windowStart = t0 + o.warmupMs;
  windowEnd = windowStart + o.measureMs;
  sending = true;
  let ticker: ReturnType<typeof setInterval> | undefined;
  if (o.rate === undefined) {
    for (const p of pairs) for (let k = 0; k < o.window; k++) sendOne(p);
  } else {
    const intervalMs = (o.pairs * 1000) / o.rate;
    for (const p of pairs) p.nextDueMs = t0 + Math.random() * intervalMs;
    ticker = setInterval(() => {
      const now = performance.now();
      for (const p of pairs) {
        while (p.nextDueMs <= now) {
          p.nextDueMs += intervalMs;
          if (p.flights.size >= o.window) skipped++;
          else sendOne(p);
        }
      }
    }, 1);
  }
  if (o.onWindow) {
    await Bun.sleep(windowStart - performance.now());
    o.onWindow("start");
  }
  await Bun.sleep(windowEnd - performance.now());
  o.onWindow?.("end");
  sending = false;
  clearInterval(ticker);
  const drainUntil = performance.now() + (o.drainMs ?? 5000);
  const inFlight = () => pairs.reduce((n, p) => n + p.flights.size, 0);
  while (inFlight() > 0 && performance.now() < drainUntil) await Bun.sleep(20);
  const unfinished = inFlight();
  // What the unfinished ones lack: 0 neither ack nor delivery, 1 acked only, 2 delivered only.
  const unfinishedBy: Record<string, number> = {};
  for (const p of pairs) for (const bits of p.flights.values()) {
    const k = ["neither", "acked, not delivered", "delivered, not acked"][bits];
    unfinishedBy[k] = (unfinishedBy[k] ?? 0) + 1;
  }
  closing = true;
  for (const p of pairs) {
    p.sender.close();
    p.receiver.close();
  }
  await Bun.sleep(300); // let both ends see the closes before the next run

  const seconds = o.measureMs / 1000;
  const lat = latencySummary(latencies);
  const ackLat = latencySummary(ackLatencies);
  const result: PairLoadResult = {
    pairs: o.pairs,
    window: o.window,
    targetRate: o.rate ?? null,
    msgsPerS: windowDelivered / seconds,
    sentPerS: windowSent / seconds,
    p50Ms: lat.p50,
    p99Ms: lat.p99,
    ackP50Ms: ackLat.p50,
    ackP99Ms: ackLat.p99,
    maxMs: lat.max,
    samples: lat.n,
    sent,
    delivered,
    acked,
    unfinished,
    unfinishedBy,
    skipped,
    errors,
    connectMs,
    timeline: Array.from(perSecond, (l = []) => {
      const x = latencySummary(l);
      return [x.n, +x.p50.toFixed(1), +x.max.toFixed(1)] as [number, number, number];
    }),
  };
  progress(
    `${label}: ${result.msgsPerS.toFixed(0)} msg/s delivered, p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (ack p50 ${ackLat.p50.toFixed(2)}, p99 ${ackLat.p99.toFixed(2)}); timeline ${JSON.stringify(result.timeline)}` +
      (unfinished ? `, ${unfinished} unfinished ${JSON.stringify(unfinishedBy)}` : "") + (Object.keys(errors).length ? `, errors ${JSON.stringify(errors)}` : ""),
  );
  return result;
}
