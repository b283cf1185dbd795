// The baseline peer: one Socket.IO node with @socket.io/redis-adapter. Each user joins a room named after
// its id; a chat message goes to the receiver's room and the sender's other devices, with an ack.
// Runs under Node (bundled by bench/peer/peer.ts) or Bun. Env: PORT (0 = any), REDIS_URL, SIO_KEY.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import Redis from "ioredis";

const port = Number(process.env.PORT ?? 0);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const key = process.env.SIO_KEY ?? "socket.io";
const nodeTag = `${process.pid}`;

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, { transports: ["websocket"], serveClient: false, adapter: createAdapter(pub, sub, { key }) });

const pad = (n: number) => String(n).padStart(2, "0");
const chatTime = (d: Date, sep: string) =>
  `${d.getFullYear()}${sep}${pad(d.getMonth() + 1)}${sep}${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

let seq = 0;
io.on("connection", (socket) => {
  const userId = socket.handshake.auth?.userId;
  if (typeof userId !== "string" || !userId) return void socket.disconnect(true);
  socket.join(userId);
  socket.on("chat", (m: Record<string, unknown>, ack?: (a: unknown) => void) => {
    const receiverId = m?.receiverId;
    if (typeof receiverId !== "string" || !receiverId) return ack?.({ error: { code: "BAD_FRAME" } });
    const now = new Date();
    const msgId = `${nodeTag}-${++seq}`;
    const chatMsg = { ...m, senderId: userId, receiverId, msgId, chatTime: chatTime(now, "-"), isRead: false, communicationType: 1 };
    // socket.to() already leaves this socket out: the receiver's devices and the sender's other ones.
    socket.to(receiverId).to(userId).emit("msg", { chatMsg, chatTime: chatTime(now, "/"), extend: socket.id });
    ack?.({ clientMsgId: m.clientMsgId, msgId, chatTime: chatMsg.chatTime });
  });
});

http.listen(port, "127.0.0.1", () => {
  console.log(`socketio-peer listening on 127.0.0.1:${(http.address() as AddressInfo).port}`);
});
const stop = () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
