// The connection indicator in the page's header: online and to which instance, or connecting and
// when the next attempt is (counted down), with the reason in its tooltip.

/** Draws into `conn` (the indicator) and `connText` (its label); returns `show(state)` for the session's states. */
export function createConnectionIndicator({ conn, connText }) {
  let connState = { state: "connecting" };

  function draw() {
    const s = connState;
    const node = s.node ? `${s.node.ip}:${s.node.port}` : "";
    conn.dataset.state = s.state;
    conn.dataset.node = s.state === "online" ? node : "";
    let text;
    if (s.state === "online") text = `Online · ${node}`;
    else {
      const waitS = s.retryAt ? Math.ceil((s.retryAt - Date.now()) / 1000) : 0;
      text = `${s.state === "connecting" ? "Connecting" : "Reconnecting"}${waitS > 0 ? ` in ${waitS} s` : "…"}`;
    }
    connText.textContent = text;
    conn.title = s.state === "online" ? `Connected to instance ${node}` : `${s.reason ?? "Not connected"} — click to retry now`;
  }
  setInterval(() => connState.state !== "online" && connState.retryAt && draw(), 500);

  return function show(s) {
    connState = s;
    draw();
  };
}
