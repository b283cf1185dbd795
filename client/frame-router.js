// Where an incoming frame goes, by kind: a chat frame by its msgType, a feature frame (presence,
// typing, …) by its top-level key. A module handles a kind with one `on…` call; the features it
// names are the ones declared at CONNECT_INIT (the server sends a feature's frames only to the
// connections that declared it).

/** Creates the router; `route(frame, live)` hands a frame to its handler (unknown kinds are dropped). */
export function createFrameRouter() {
  const byMsgType = new Map(); // msgType -> handler(chatMsg, live, frame)
  const byKey = new Map(); // top-level key of a feature frame -> handler(body, frame)
  const features = new Set();

  return {
    /** `handler(chatMsg, live, frame)` takes the chat frames of `msgTypes`; `live` is false during the replay. */
    onChat(msgTypes, handler) {
      for (const t of msgTypes) byMsgType.set(t, handler);
    },
    /** `handler(frame[key], frame)` takes the frames `{key: …}` of `feature` (declared at CONNECT_INIT). */
    onFeature(key, handler, feature = key) {
      byKey.set(key, handler);
      features.add(feature);
    },
    /** The features to declare at CONNECT_INIT. */
    features: () => [...features],
    route(frame, live) {
      if (frame.chatMsg) return byMsgType.get(frame.chatMsg.msgType)?.(frame.chatMsg, live, frame);
      for (const key of Object.keys(frame)) {
        const handler = byKey.get(key);
        if (handler) return handler(frame[key], frame);
      }
    },
  };
}
