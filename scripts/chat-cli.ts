// A command-line chat client: asks getNettyOnlineInfo, connects, and chats line by line.
// Usage: bun scripts/chat-cli.ts <me> <peer> [http://host:port]   — type a line to send it.
import { parseArgs } from "node:util";

const { positionals } = parseArgs({ allowPositionals: true });
const [me, peer, origin = "http://127.0.0.1:8875"] = positionals;
if (!me || !peer) {
  console.error("usage: bun scripts/chat-cli.ts <me> <peer> [http://host:port of any instance]");
  process.exit(2);
}

let lastMsgId: string | undefined;
let seq = 0;

async function connect(): Promise<WebSocket> {
  const info = await (await fetch(`${origin}/chat/getNettyOnlineInfo`, { method: "POST" })).json();
  const { ip, port } = info.data;
  const host = ip === "0.0.0.0" ? new URL(origin).hostname : ip;
  const ws = new WebSocket(`ws://${host}:${port}/ws`);
  ws.onopen = () => {
    console.log(`* connected to ${host}:${port} as ${me}`);
    ws.send(JSON.stringify({ chatMsg: { senderId: me, msgType: 0, ...(lastMsgId ? { msgId: lastMsgId } : {}) } }));
  };
  ws.onmessage = (e) => {
    const frame = JSON.parse(String(e.data));
    if (frame.error) return console.log(`! ${frame.error.code}: ${frame.error.message}`);
    if (frame.ack?.msgId) return console.log(`  ✓ stored as ${frame.ack.msgId}`);
    const m = frame.chatMsg;
    if (!m) return;
    if (m.msgId) lastMsgId = m.msgId;
    if (m.msgType === 8) return console.log(`  ✓✓ ${m.msgId} read by ${m.senderId}`);
    console.log(`${m.chatTime} ${m.senderId}: ${m.msg}`);
    if (m.receiverId === me) ws.send(JSON.stringify({ chatMsg: { msgType: 8, msgId: m.msgId } }));
  };
  ws.onclose = (e) => {
    const delay = Math.random() * Math.min(10_000, 500 * 2 ** Math.min(seq++, 5));
    console.log(`* disconnected (${e.code}); reconnecting in ${Math.round(delay)} ms`);
    setTimeout(() => connect().then((next) => (socket = next), () => ws.onclose?.(e)), delay);
  };
  return ws;
}

let socket = await connect();
for await (const line of console) {
  if (!line.trim()) continue;
  socket.send(JSON.stringify({ chatMsg: { senderId: me, receiverId: peer, msg: line, msgType: 1, clientMsgId: crypto.randomUUID() } }));
}
