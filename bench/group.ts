// Benchmark (issue 8): one message to a group of 1,000 members spread over 3 instances — time until the
// last member has it, and broker messages per group message (target: one per holding instance).
//
//   bun run bench/group.ts [--quick] [--members=1000] [--messages=20]
import { arg, fmt, latencySummary, progress, QUICK, saveResult, scrapeMetrics, table } from "./lib/common.ts";
import { startBenchCluster } from "./lib/im-cluster.ts";

const MEMBERS = Number(arg("members", QUICK ? "300" : "1000"));
const MESSAGES = Number(arg("messages", QUICK ? "5" : "20"));

export async function groupBench() {
  const c = await startBenchCluster(3);
  const sockets: WebSocket[] = [];
  try {
    const members = Array.from({ length: MEMBERS }, (_, i) => `gm${i}`);
    // Received[msgIndex] = how many members got it, and when the last one did.
    const got = new Map<string, { count: number; last: number }>();
    const open = (i: number) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(c.wsUrl(i % 3));
        ws.onopen = () => ws.send(JSON.stringify({ chatMsg: { senderId: members[i], msgType: 0, clientMsgId: "init" } }));
        ws.onerror = () => reject(new Error(`member ${i} could not connect`));
        ws.onmessage = (e) => {
          const f = JSON.parse(String(e.data));
          if (f.ack?.clientMsgId === "init") return resolve(ws);
          if (f.chatMsg?.communicationType === 2 && i !== 0) {
            const g = got.get(f.chatMsg.msg) ?? { count: 0, last: 0 };
            g.count++;
            g.last = performance.now();
            got.set(f.chatMsg.msg, g);
          }
        };
      });
    for (let i = 0; i < MEMBERS; i += 100) sockets.push(...(await Promise.all(members.slice(i, i + 100).map((_, j) => open(i + j)))));
    progress(`${MEMBERS} members connected over 3 instances`);
    const res = await fetch(`${c.httpUrl(0)}/chat/group/create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "bench", ownerId: members[0], members }),
    });
    const groupId = (await res.json()).data.groupId;
    const before = await Promise.all([0, 1, 2].map((i) => scrapeMetrics(c.httpUrl(i))));
    const times: number[] = [];
    for (let m = 0; m < MESSAGES; m++) {
      const text = `g${m}`;
      const sent = performance.now();
      sockets[0].send(JSON.stringify({ chatMsg: { senderId: members[0], receiverId: groupId, msg: text, msgType: 1, communicationType: 2 } }));
      const deadline = sent + 10_000;
      while ((got.get(text)?.count ?? 0) < MEMBERS - 1 && performance.now() < deadline) await Bun.sleep(1);
      const g = got.get(text);
      if ((g?.count ?? 0) < MEMBERS - 1) throw new Error(`message ${m} reached ${g?.count ?? 0} of ${MEMBERS - 1} members`);
      times.push(g!.last - sent);
    }
    const after = await Promise.all([0, 1, 2].map((i) => scrapeMetrics(c.httpUrl(i))));
    const delta = (name: string, i: number) => (after[i][name] ?? 0) - (before[i][name] ?? 0);
    const published = delta("im_bus_published_total", 0);
    const consumed = [1, 2].map((i) => delta("im_bus_consumed_total", i));
    const lat = latencySummary(times.sort((a, b) => a - b));
    const result = {
      members: MEMBERS,
      messages: MESSAGES,
      lastMemberMs: { p50: lat.p50, p99: lat.p99, max: lat.max },
      publishesPerMessage: published / MESSAGES,
      framesConsumedPerMessagePerInstance: consumed.map((n) => n / MESSAGES),
    };
    console.log(
      table(
        ["members", "messages", "to last member p50 ms", "max ms", "bus publishes / msg (sender)", "frames consumed / msg (instances 1, 2)"],
        [[MEMBERS, MESSAGES, fmt(lat.p50, 1), fmt(lat.max, 1), fmt(result.publishesPerMessage, 2), result.framesConsumedPerMessagePerInstance.map((n) => fmt(n, 2)).join(", ")]],
      ),
    );
    saveResult("group", result);
    return result;
  } finally {
    for (const s of sockets) s.close();
    await c.stop();
  }
}

if (import.meta.main) await groupBench();
