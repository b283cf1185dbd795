// Small pure helpers of the browser client: ids, times, backoff, avatars, WebSocket URLs.

/** Compares two decimal id strings numerically (snowflake ids exceed 2^53; no leading zeros). */
export function compareIds(a, b) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The larger of two decimal ids, either of which may be missing. */
export function maxId(a, b) {
  if (!a) return b;
  if (!b) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

/** A random id for `clientMsgId`; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Exponential backoff with full jitter: a random delay in [0, min(capMs, baseMs * 2^attempt)). */
export function backoffDelay(attempt, baseMs = 500, capMs = 10_000) {
  return Math.random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}

/** Conversations with a group have its id (`group:<digits>`) as their key; broadcasts are "system"'s. */
export const GROUP_PREFIX = "group:";
export const SYSTEM = "system";

/** What a conversation key names: "system" (the broadcasts), "group" or "user". */
export function kindOf(id) {
  if (id === SYSTEM) return "system";
  return typeof id === "string" && id.startsWith(GROUP_PREFIX) ? "group" : "user";
}

/** Splits "bob, carol dave" into valid, distinct user ids (and the invalid parts, to report them). */
export function parseUserIds(text) {
  const valid = [];
  const invalid = [];
  for (const part of (text ?? "").split(/[\s,;]+/)) {
    if (!part) continue;
    if (USER_ID.test(part) && kindOf(part) === "user") {
      if (!valid.includes(part)) valid.push(part);
    } else invalid.push(part);
  }
  return { valid, invalid };
}

/** User ids as the server accepts them (lib/protocol/ids.ts USER_ID): 1–64 letters, digits or _ . @ : + - */
export const USER_ID = /^[\p{L}\p{N}_.@:+\-]{1,64}$/u;

export function isValidUserId(id) {
  return typeof id === "string" && USER_ID.test(id);
}

const pad = (n) => String(n).padStart(2, "0");

/** Parses the server's `yyyy-MM-dd HH:mm:ss` (or `yyyy/MM/dd …`) into a local Date, or undefined. */
export function parseChatTime(s) {
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(s ?? "");
  if (!m) return undefined;
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/** The server's format for a local Date (used for messages not acknowledged yet). */
export function formatChatTime(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `HH:mm` of a chatTime. */
export function clockOf(chatTime) {
  const d = parseChatTime(chatTime);
  return d ? `${pad(d.getHours())}:${pad(d.getMinutes())}` : "";
}

/** `yyyy-MM-dd` of a chatTime: the key of a day separator. */
export function dayOf(chatTime) {
  return (chatTime ?? "").slice(0, 10).replaceAll("/", "-");
}

/** "Today", "Yesterday" or a readable date for a `yyyy-MM-dd` day key. */
export function dayLabel(day, now = new Date()) {
  const d = parseChatTime(`${day} 00:00:00`);
  if (!d) return day;
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const diffDays = Math.round((today.getTime() - d.getTime()) / 86_400_000);
  if (diffDays === 0) return "Today";
  if (diffDays === 1) return "Yesterday";
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString(undefined, { weekday: sameYear ? "short" : undefined, day: "numeric", month: "short", year: sameYear ? undefined : "numeric" });
}

/** A short label for a conversation list: the time today, else the date. */
export function shortWhen(chatTime, now = new Date()) {
  const d = parseChatTime(chatTime);
  if (!d) return "";
  if (d.toDateString() === now.toDateString()) return clockOf(chatTime);
  return d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

/** A stable hue for a user's avatar. */
export function hueOf(id) {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

/** One letter for an avatar; two for ids of several parts ("ann.lee" gives "AL"). */
export function initialsOf(id) {
  const parts = id.trim().split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[1]].map((p) => [...p][0]) : [...(parts[0] ?? "?")].slice(0, 1);
  return letters.join("").toUpperCase();
}

/** A one-line preview of a message for the conversation list. */
export function previewOf(m) {
  if (m.recalled) return "Message recalled";
  switch (m.msgType) {
    case 2: return "Photo";
    case 3: return "Voice message";
    case 4: return "Video";
    default: return (m.msg ?? "").replace(/\s+/g, " ").slice(0, 80);
  }
}

/** True for URLs the client may put in src/href: absolute http(s) and data:image, nothing that runs script. */
export function isSafeMediaUrl(url) {
  if (typeof url !== "string" || url === "") return false;
  if (/^data:image\/(png|jpe?g|gif|webp);/i.test(url)) return true;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

const isUnspecified = (h) => !h || h === "0.0.0.0" || h === "::" || h === "[::]";
const isLoopback = (h) => /^127\./.test(h) || h === "localhost" || h === "::1" || h === "[::1]";
const bracket = (h) => (h.includes(":") && !h.startsWith("[") ? `[${h}]` : h);

/**
 * WebSocket URLs to try for an instance `{ip, port}`, best first. An address the browser cannot
 * reach (0.0.0.0, or loopback while the page came from elsewhere) falls back to the page's host.
 */
export function wsUrlsFor(ip, port, loc = location, token = "") {
  const scheme = loc.protocol === "https:" ? "wss" : "ws";
  const page = loc.hostname;
  const hosts = isUnspecified(ip) ? [page] : isLoopback(ip) && !isLoopback(page) ? [page, ip] : [ip, page];
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return [...new Set(hosts.map(bracket))].map((h) => `${scheme}://${h}:${port}/ws${query}`);
}
