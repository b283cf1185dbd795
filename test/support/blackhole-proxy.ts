// A TCP forwarder between an instance and a service that can go silent: `cut()` holds every byte in
// both directions (the sockets stay open, nothing is refused: what a partition that drops packets
// looks like to the client), `heal()` delivers what was held, as TCP retransmission would.
import { createServer, connect, type Socket } from "node:net";

export interface BlackholeProxy {
  readonly port: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  let cut = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const pass = (from: Socket, to: Socket) =>
    from.on("data", (chunk) => {
      if (cut) held.push(() => to.destroyed || to.write(chunk));
      else to.write(chunk);
    });
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    pass(client, upstream);
    pass(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut: () => void (cut = true),
    heal() {
      cut = false;
      for (const deliver of held.splice(0)) deliver();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
