// The forwarder behind the host tests, on loopback in front of an echo server: it refuses, holds
// and delays per client address as the faults say, and keeps the byte stream in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import { OK, startFaultForwarder, type FaultForwarder } from "../support/fault-forwarder.ts";

/** A client of the forwarder with what it has read so far and how it ended. */
async function dial(f: FaultForwarder) {
  const s = connect(f.port, f.host);
  const state = { s, got: "", ended: "" as string };
  s.on("data", (d) => (state.got += d.toString()));
  s.on("error", (e: NodeJS.ErrnoException) => (state.ended = e.code ?? e.message));
  s.on("close", () => (state.ended ||= "closed"));
  await new Promise<void>((resolve) => s.once("connect", () => resolve()));
  return state;
}

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await Bun.sleep(5);
  return cond();
};

describe("the fault forwarder", () => {
  let echo: Server;
  let f: FaultForwarder;

  beforeAll(async () => {
    echo = createServer((s: Socket) => s.on("data", (d) => s.write(d)).on("error", () => {}));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    f = await startFaultForwarder({ host: "127.0.0.1" }, { host: "127.0.0.1", port: (echo.address() as { port: number }).port });
  });
  afterAll(async () => {
    await f.close();
    echo.close();
  });

  test("passes bytes both ways while healthy", async () => {
    const c = await dial(f);
    c.s.write("ping");
    expect(await until(() => c.got === "ping")).toBe(true);
    c.s.destroy();
  });

  test("refused: an open connection is reset and a new one is reset at once", async () => {
    const open = await dial(f);
    f.set("127.0.0.1", { kind: "refuse" });
    expect(await until(() => open.ended !== "")).toBe(true);
    expect(open.ended).toBe("ECONNRESET");
    const fresh = connect(f.port, f.host);
    const err = await new Promise<string>((r) => fresh.on("error", (e: NodeJS.ErrnoException) => r(e.code ?? "")).on("close", () => r("closed")));
    expect(["ECONNRESET", "closed"]).toContain(err);
    f.set("127.0.0.1", OK);
  });

  test("silent: nothing passes, the socket stays open, everything arrives in order at the heal", async () => {
    const c = await dial(f);
    f.set("127.0.0.1", { kind: "silent" });
    for (const part of ["a", "b", "c"]) c.s.write(part);
    await Bun.sleep(200);
    expect({ got: c.got, ended: c.ended, held: f.connections("127.0.0.1") }).toEqual({ got: "", ended: "", held: 1 });
    f.set("127.0.0.1", OK);
    expect(await until(() => c.got === "abc")).toBe(true);
    c.s.destroy();
  });

  test("lossy: each direction is delayed, a lost chunk stalls the ones behind it, order holds", async () => {
    const c = await dial(f);
    f.set("127.0.0.1", { kind: "lossy", delayMs: 40, loss: 0.5, rtoMs: 100 });
    const started = performance.now();
    for (let i = 0; i < 20; i++) c.s.write(`${i},`);
    const want = Array.from({ length: 20 }, (_, i) => `${i},`).join("");
    expect(await until(() => c.got === want, 5000)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(80); // 40 ms out and 40 ms back at least
    f.set("127.0.0.1", OK);
    c.s.destroy();
  });
});
