// The Grafana dashboard (deploy/grafana-dashboard.json) checked against a real Prometheus: it
// scrapes a 2-instance cluster every second under a short, paced load (chat across the instances,
// users reconnecting with a replay, a client sending bad frames), and every query of every panel,
// with the dashboard's variables substituted, returns series whose values match what the test did:
// the message rates within 10% of what the clients sent and received in the same window. The alert
// rules are loaded too: they evaluate without errors over real metric names, and none fires.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { prometheusMissing, startPrometheus, type Prometheus, type PromSample } from "../support/prometheus.ts";
import { REDIS_DB } from "../support/services.ts";
import { eventually } from "../support/wait.ts";
import { TestClient } from "../support/ws-client.ts";

const DEPLOY = join(import.meta.dir, "../../deploy");
const dashboard = await Bun.file(join(DEPLOY, "grafana-dashboard.json")).json();
const RULES = join(DEPLOY, "prometheus-rules.yml");

/** Chat senders per instance, each to a receiver on the other instance, and each one's rate. */
const SENDERS_PER_INSTANCE = 5;
const MSGS_PER_S_PER_SENDER = 4;
const LOAD_MS = 14_000;
/** The window every query looks at ($__rate_interval), ending 1 s before the load does. */
const WINDOW_S = 10;
/** Messages each reconnecting user has, so each of its replays sends this many frames. */
const REPLAY_HISTORY = 5;
const BAD_FRAME_EVERY_MS = 500;

const missing = await prometheusMissing();
if (missing) console.warn(`SKIPPED test/deploy/prometheus-dashboard.test.ts: ${missing}`);

/** What the clients did, as timestamps (ms), for the expected values. */
interface LoadRecord {
  sentAt: number[][]; // per instance the sender is on
  deliveredAt: number[][]; // per instance the receiver is on
  replayedAt: number[][]; // acked CONNECT_INITs with a replay, per instance
  replayCounts: number[];
  badFramesAt: number[];
  acked: number;
}

describe.skipIf(!!missing)("the dashboard's queries on a real Prometheus scraping a cluster under load", () => {
  let c: Cluster;
  let prom: Prometheus;
  let instances: string[];
  const done: LoadRecord = { sentAt: [[], []], deliveredAt: [[], []], replayedAt: [[], []], replayCounts: [], badFramesAt: [], acked: 0 };
  let evalAtS = 0;

  beforeAll(async () => {
    c = await startCluster({ size: 2, redisDb: REDIS_DB.prometheus });
    instances = c.nodes.map((n) => `127.0.0.1:${n.port}`);
    prom = await startPrometheus({ targets: instances, scrapeIntervalS: 1, ruleFiles: [RULES] });
    // Prometheus passes new targets to its scrapers every 5 s: the load starts once both are scraped.
    const scraping = await eventually(async () => (await prom.query('up{job="im"} == 1')).length === 2, 15_000, 200);
    expect(scraping).toBe(true);
    await runLoad();
    // Every query reads the window ending at evalAtS: wait until both instances were scraped after it.
    const scraped = await eventually(async () => {
      const last = await prom.query('min(timestamp(up{job="im"}))');
      return (last[0]?.value ?? 0) >= evalAtS + 1;
    }, 10_000, 200);
    expect(scraped).toBe(true);
  }, 80_000);

  afterAll(async () => {
    await prom?.stop();
    await c?.stop();
  }, 30_000);

  async function runLoad(): Promise<void> {
    const url = (i: number) => c.wsUrl(i);
    // Receivers and senders: sender s<i>-<k> on instance i, its receiver on the other one.
    const receivers = await Promise.all(
      [0, 1].flatMap((i) => Array.from({ length: SENDERS_PER_INSTANCE }, (_, k) => TestClient.login(url(1 - i), `pr-r${i}-${k}`).then((cl) => ({ cl, at: 1 - i })))),
    );
    for (const { cl, at } of receivers) {
      // Live deliveries name the sending connection in `extend` (a catch-up or replay has null).
      cl.ws.addEventListener("message", (e) => {
        const f = JSON.parse(String(e.data));
        if (f.chatMsg?.msgType === 1 && f.extend) done.deliveredAt[at].push(Date.now());
      });
    }
    const senders = await Promise.all(
      [0, 1].flatMap((i) => Array.from({ length: SENDERS_PER_INSTANCE }, (_, k) => TestClient.login(url(i), `pr-s${i}-${k}`).then((cl) => ({ cl, at: i, user: `pr-s${i}-${k}`, to: `pr-r${i}-${k}` })))),
    );
    // History for the reconnecting users: each replay from msgId 1 sends these frames.
    for (const i of [0, 1]) for (let n = 0; n < REPLAY_HISTORY; n++) await senders[0].cl.say(senders[0].user, `pr-c${i}`, `history ${n}`);
    const errorClient = await TestClient.login(url(0), "pr-e");

    const start = Date.now();
    const end = start + LOAD_MS;
    evalAtS = (end - 1000) / 1000;
    let running = true;

    // Paced chat: one sender after the other, drift-free, MSGS_PER_S_PER_SENDER each.
    const pace = async () => {
      const everyMs = 1000 / (MSGS_PER_S_PER_SENDER * senders.length);
      for (let n = 0; ; n++) {
        const due = start + n * everyMs;
        if (due >= end) break;
        if (due > Date.now()) await Bun.sleep(due - Date.now());
        const s = senders[n % senders.length];
        s.cl.send({ chatMsg: { senderId: s.user, receiverId: s.to, msg: `m${n}`, msgType: 1, clientMsgId: `pr-${n}` } });
        done.sentAt[s.at].push(Date.now());
      }
    };
    // A user per instance reconnecting over and over with a replay (lock waits, replays).
    const churn = async (i: number) => {
      while (running) {
        const cl = await TestClient.open(url(i));
        const clientMsgId = `pr-init-${Date.now()}`;
        cl.send({ chatMsg: { senderId: `pr-c${i}`, msgType: 0, msgId: "1", clientMsgId } });
        const ack = await cl.next((f) => f.ack?.clientMsgId === clientMsgId);
        done.replayedAt[i].push(Date.now());
        done.replayCounts.push(ack.ack.replayed);
        await Bun.sleep(400);
        cl.close();
        await cl.waitClosed();
        await Bun.sleep(300);
      }
    };
    const badFrames = async () => {
      while (running) {
        errorClient.send("{bad");
        done.badFramesAt.push(Date.now());
        await Bun.sleep(BAD_FRAME_EVERY_MS);
      }
    };
    const stopAtEnd = Bun.sleep(LOAD_MS).then(() => void (running = false));
    await Promise.all([pace(), churn(0), churn(1), badFrames(), stopAtEnd]);
    const sent = done.sentAt[0].length + done.sentAt[1].length;
    const acks = () => senders.reduce((n, s) => n + s.cl.frames.filter((f) => /^pr-\d+$/.test(f.ack?.clientMsgId ?? "")).length, 0);
    await eventually(() => acks() >= sent, 10_000);
    done.acked = acks();
    expect(senders.flatMap((s) => s.cl.frames.filter((f) => f.error))).toEqual([]);
  }

  /** How many of `times` (ms) fall in the window, per second. */
  const perSecond = (times: number[]) => times.filter((t) => t > (evalAtS - WINDOW_S) * 1000 && t <= evalAtS * 1000).length / WINDOW_S;
  const near = (actual: number, expected: number, tolerance: number) => {
    expect(expected).toBeGreaterThan(0);
    expect(Math.abs(actual - expected) / expected).toBeLessThanOrEqual(tolerance);
  };
  const byInstance = (series: PromSample[]) => Object.fromEntries(series.map((s) => [s.metric.instance, s.value]));
  const oneValue = (series: PromSample[]) => {
    expect(series.length).toBe(1);
    return series[0].value;
  };
  /** A latency from histogram_quantile: one finite value per instance, above 0 and under `maxS`. */
  const latencies = (maxS: number) => (series: PromSample[]) => {
    expect(Object.keys(byInstance(series)).sort()).toEqual([...instances].sort());
    for (const s of series) {
      expect(Number.isFinite(s.value)).toBe(true);
      expect(s.value).toBeGreaterThan(0);
      expect(s.value).toBeLessThan(maxS);
    }
  };
  const perInstance = (check: (value: number, i: number) => void) => (series: PromSample[]) => {
    const values = byInstance(series);
    expect(Object.keys(values).sort()).toEqual([...instances].sort());
    instances.forEach((inst, i) => check(values[inst], i));
  };
  const connectionsAt = (i: number) => 2 * SENDERS_PER_INSTANCE + (i === 0 ? 1 : 0); // senders, receivers, error client

  /** Per panel title, per target refId: what its series must show. */
  const expectations: Record<string, Record<string, (series: PromSample[]) => void>> = {
    "Chat messages in per second": {
      A: perInstance((v, i) => near(v, perSecond(done.sentAt[i]), 0.1)),
      B: (s) => near(oneValue(s), perSecond(done.sentAt.flat()), 0.1),
    },
    "Messages delivered per second": {
      A: perInstance((v, i) => near(v, perSecond(done.deliveredAt[i]), 0.1)),
      B: (s) => {
        console.log(`delivered: Prometheus ${oneValue(s).toFixed(2)}/s, clients ${perSecond(done.deliveredAt.flat()).toFixed(2)}/s`);
        near(oneValue(s), perSecond(done.deliveredAt.flat()), 0.1);
      },
    },
    "Ack latency p50 / p99": { A: latencies(1), B: latencies(2) },
    "Errors by code": {
      A: (s) => {
        // Only the bad frames: BAD_JSON at their rate; nothing else was refused.
        const codes = Object.fromEntries(s.map((x) => [x.metric.code, x.value]));
        near(codes.BAD_JSON, perSecond(done.badFramesAt), 0.25);
        for (const [code, v] of Object.entries(codes)) if (code !== "BAD_JSON") expect({ code, v }).toEqual({ code, v: 0 });
      },
      B: perInstance((v) => expect(v).toBe(0)),
      C: perInstance((v) => expect(v).toBe(0)),
    },
    Connections: {
      A: perInstance((v, i) => expect(v - connectionsAt(i)).toBeOneOf([0, 1])), // + the reconnecting user, if connected
      B: (s) => expect(oneValue(s) - connectionsAt(0) - connectionsAt(1)).toBeOneOf([0, 1, 2]),
    },
    "Online users": {
      A: perInstance((v, i) => expect(v - connectionsAt(i)).toBeOneOf([0, 1])),
      B: perInstance((v, i) => expect(v - connectionsAt(i)).toBeOneOf([0, 1])),
      C: (s) => expect(oneValue(s) - connectionsAt(0) - connectionsAt(1)).toBeOneOf([0, 1, 2]),
    },
    "Broker confirm latency p50 / p99": { A: latencies(1), B: latencies(2) },
    "Outbox depth": { A: perInstance((v) => expect(v).toBe(0)), B: perInstance((v) => expect(v).toBe(10_000)) },
    "Store write latency p50 / p99": { A: latencies(1), B: latencies(2) },
    "Store batch size": {
      A: perInstance((v) => (expect(v).toBeGreaterThanOrEqual(1), expect(v).toBeLessThanOrEqual(500))),
      // histogram_quantile interpolates within a bucket: batches of 1 row (le="1") give 0.99.
      B: perInstance((v) => (expect(v).toBeGreaterThan(0), expect(v).toBeLessThanOrEqual(500))),
    },
    "Dependency state": {
      A: perInstance((v) => expect(v).toBe(1)),
      B: (s) => {
        const seen = s.map((x) => `${x.metric.instance} ${x.metric.dependency} ${x.value}`).sort();
        const want = instances.flatMap((i) => ["rabbitmq", "redis", "store", "zookeeper"].map((d) => `${i} ${d} 1`)).sort();
        expect(seen).toEqual(want);
      },
      C: perInstance((v) => expect(v).toBe(1)),
    },
    "ZooKeeper lock wait and count flush lag": { A: latencies(1), B: latencies(2), C: latencies(5) },
    "Event-loop lag": {
      A: perInstance((v) => (expect(v).toBeGreaterThan(0), expect(v).toBeLessThan(1))),
      B: perInstance((v) => (expect(v).toBeGreaterThan(0), expect(v).toBeLessThan(1))),
    },
    Replays: {
      A: (s) => {
        const recovered = s.filter((x) => x.metric.recovered === "true");
        perInstance((v, i) => {
          const want = perSecond(done.replayedAt[i]);
          expect(Math.abs(v - want) * WINDOW_S).toBeLessThanOrEqual(Math.max(2, 0.25 * want * WINDOW_S));
        })(recovered);
        for (const x of s.filter((x) => x.metric.recovered === "false")) expect(x.value).toBe(0);
      },
      B: (s) => {
        const frames = (kind: string) => byInstance(s.filter((x) => x.metric.kind === kind));
        const replays = frames("replay");
        expect(Object.keys(replays).sort()).toEqual([...instances].sort());
        instances.forEach((inst, i) => near(replays[inst], REPLAY_HISTORY * perSecond(done.replayedAt[i]), 0.25));
        for (const v of Object.values(frames("catch_up"))) expect(v).toBeGreaterThanOrEqual(0);
      },
    },
  };

  const panels = (dashboard.panels as any[]).filter((p) => p.type !== "row");
  const substitute = (expr: string) => expr.replaceAll("$__rate_interval", `${WINDOW_S}s`).replaceAll("$instance", ".*");

  test("the dashboard uses the datasource variable and an instance variable, and every panel is checked here", () => {
    const vars = Object.fromEntries((dashboard.templating.list as any[]).map((v) => [v.name, v]));
    expect(vars.DS_PROMETHEUS.type).toBe("datasource");
    expect(vars.instance.type).toBe("query");
    for (const p of panels) {
      expect({ panel: p.title, ds: p.datasource.uid }).toEqual({ panel: p.title, ds: "${DS_PROMETHEUS}" });
      expect({ panel: p.title, refIds: p.targets.map((t: any) => t.refId) }).toEqual({ panel: p.title, refIds: Object.keys(expectations[p.title] ?? {}) });
    }
    expect(panels.map((p) => p.title).sort()).toEqual(Object.keys(expectations).sort());
  });

  test("the clients sent and received what the window's expectations assume", () => {
    expect(done.acked).toBe(done.sentAt.flat().length);
    expect(done.deliveredAt.flat().length).toBe(done.sentAt.flat().length);
    expect(done.replayCounts.length).toBeGreaterThan(10);
    for (const n of done.replayCounts) expect(n).toBe(REPLAY_HISTORY);
    console.log(
      `load: ${done.sentAt.flat().length} messages in ${LOAD_MS / 1000} s, ${done.replayCounts.length} reconnects with a replay, ${done.badFramesAt.length} bad frames; window ${WINDOW_S} s ending at ${new Date(evalAtS * 1000).toISOString()}`,
    );
  });

  test("the instance variable's query lists both instances", async () => {
    const vars = Object.fromEntries((dashboard.templating.list as any[]).map((v) => [v.name, v]));
    const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(vars.instance.query.query)!;
    const values = await prom.api(`/api/v1/label/${label}/values?match[]=${metric}`);
    expect([...values].sort()).toEqual([...instances].sort());
  });

  for (const p of panels) {
    test(`panel "${p.title}" shows what happened`, async () => {
      for (const t of p.targets) {
        const expr = substitute(t.expr);
        const series = await prom.query(expr, evalAtS);
        if (!series.length) throw new Error(`${p.title} ${t.refId}: no series for ${expr}`);
        try {
          expectations[p.title][t.refId](series);
        } catch (err) {
          console.error(`${p.title} ${t.refId}: ${expr}\n  got ${JSON.stringify(series.map((s) => [s.metric, s.value]))}`);
          throw err;
        }
      }
    });
  }

  test("the store reports its batches", async () => {
    const batches = await prom.query("sum(im_store_batch_rows_count)", evalAtS);
    expect(oneValue(batches)).toBeGreaterThan(0);
  });

  test("the alert rules evaluate without errors over metric names the instances expose, and none fires", async () => {
    const groups = (await prom.api("/api/v1/rules")).groups as Array<{ rules: Array<{ name: string; query: string; health: string; lastError?: string }> }>;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) expect({ rule: r.name, health: r.health, error: r.lastError ?? "" }).toEqual({ rule: r.name, health: "ok", error: "" });
    const names = new Set(rules.flatMap((r) => r.query.match(/\bim_[a-z0-9_]+/g) ?? []));
    for (const name of names) {
      const present = await prom.query(`count({__name__="${name}", job="im"})`, evalAtS);
      expect({ name, present: present.length > 0 }).toEqual({ name, present: true });
    }
    const alerts = (await prom.api("/api/v1/alerts")).alerts as Array<{ labels: { alertname: string }; state: string }>;
    expect(alerts.filter((a) => a.state === "firing").map((a) => a.labels.alertname)).toEqual([]);
  });
});
