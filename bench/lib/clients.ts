// Load-generator clients with one shape for both systems: this server's WebSocket protocol and the Socket.IO peer.
import { io, type Socket } from "socket.io-client";

/** What the load driver needs of one logged-in connection. */
export interface LoadClient {
  /** Sends a text chat message to `receiverId`, asking for an ack under `clientMsgId`. */
  send(receiverId: string, text: string, clientMsgId: string): void;
  close(): void;
}

export interface ClientHandlers {
  /** The server accepted the message (`ack.clientMsgId`). */
  onAck(clientMsgId: string): void;
  /** A chat message arrived; `text` is its `msg`. */
  onMessage(text: string): void;
  /** An error frame (code) or a lost connection ("closed"). */
  onError(code: string): void;
}

export type Connect = (url: string, userId: string, handlers: ClientHandlers) => Promise<LoadClient>;

/** A client of this server: WebSocket, CONNECT_INIT with a clientMsgId, resolves once the init is acked. */
export const connectIm: Connect = (url, userId, h) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let ready = false;
    const timer = setTimeout(() => {
      if (!ready) {
        reject(new Error(`no CONNECT_INIT ack from ${url} within 15 s`));
        ws.close();
      }
    }, 15_000);
    const client: LoadClient = {
      send(receiverId, text, clientMsgId) {
        ws.send(`{"chatMsg":{"senderId":${JSON.stringify(userId)},"receiverId":${JSON.stringify(receiverId)},"msg":${JSON.stringify(text)},"msgType":1,"clientMsgId":"${clientMsgId}"}}`);
      },
      close: () => ws.close(),
    };
    ws.onopen = () => ws.send(JSON.stringify({ chatMsg: { senderId: userId, msgType: 0, clientMsgId: "init" } }));
    ws.onerror = () => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`could not connect to ${url}`));
      }
    };
    ws.onclose = () => {
      if (ready) h.onError("closed");
    };
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data as string);
      if (f.chatMsg) {
        if (f.chatMsg.msgType === 1) h.onMessage(f.chatMsg.msg);
      } else if (f.ack) {
        if (!ready && f.ack.clientMsgId === "init") {
          ready = true;
          clearTimeout(timer);
          resolve(client);
        } else h.onAck(f.ack.clientMsgId);
      } else if (f.error) h.onError(f.error.code);
    };
  });

/** A client of the Socket.IO peer: websocket transport only, the user id in the handshake (it joins its room). */
export const connectSocketIo: Connect = (url, userId, h) =>
  new Promise((resolve, reject) => {
    const socket: Socket = io(url, { transports: ["websocket"], auth: { userId }, reconnection: false, timeout: 15_000 });
    let ready = false;
    socket.on("connect", () => {
      ready = true;
      resolve({
        send(receiverId, text, clientMsgId) {
          socket.emit("chat", { receiverId, msg: text, msgType: 1, clientMsgId }, (ack: { clientMsgId: string }) => h.onAck(ack.clientMsgId));
        },
        close: () => socket.close(),
      });
    });
    socket.on("connect_error", (err) => {
      if (!ready) reject(new Error(`could not connect to ${url}: ${err.message}`));
    });
    socket.on("disconnect", () => {
      if (ready) h.onError("closed");
    });
    socket.on("msg", (dc: { chatMsg: { msg: string; msgType: number } }) => {
      if (dc.chatMsg.msgType === 1) h.onMessage(dc.chatMsg.msg);
    });
  });
