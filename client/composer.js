// The composer: the text box, sent as a message (Enter or the send button) or as a photo's URL, and
// the typing notes it gives while the user types.
import { isSafeMediaUrl } from "./format.js";

// The server refuses frames over MAX_FRAME_BYTES (64 KiB by default); leave room for the envelope.
/** The server's default MAX_MSG_CHARS: a longer message would be refused (BAD_FRAME). */
const MAX_TEXT_CHARS = 16_384;

/** Wires the composer's elements of `el` (the page's, app.js); `chat()` is the signed-in session, if any; `notify(text)` tells the user. */
export function attachComposer({ el, chat: session, notify }) {
  function sendText(msgType) {
    const chat = session();
    const text = el.text.value.trim();
    if (!text || !chat) return;
    if (msgType === 2 && !isSafeMediaUrl(text)) return notify("Paste the URL of an image (http or https) to send it as a photo.");
    if (text.length > MAX_TEXT_CHARS) return notify(`This message is too long to send: at most ${MAX_TEXT_CHARS} characters.`);
    chat.send(text, msgType);
    el.text.value = "";
    el.text.style.height = "";
    el.text.focus();
  }

  el.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    sendText(1);
  });
  el.sendImage.addEventListener("click", () => sendText(2));
  el.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText(1);
    }
  });
  el.text.addEventListener("input", () => {
    if (el.text.value) session()?.typed();
    el.text.style.height = "";
    el.text.style.height = `${Math.min(el.text.scrollHeight, 140)}px`;
  });
}
