// Webhooks for the app's backend: an HTTP POST, signed with a shared secret, when a message is
// stored, when one of its receivers has no connection anywhere (the hook for push
// notifications), and when a message is recalled, edited or deleted for its sender. Sent from a bounded queue, retried with backoff, never in the way of the ack.
import { createHmac } from "node:crypto";
import type { Audience, MessageHooks, SessionRoutes, StoredMsg } from "../core/ports.ts";
import { editKindOfType } from "../protocol/edits.ts";
import { everyInterval, type Logger } from "../log.ts";

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key of `X-IM-Signature`. */
  secret: string;
  /** Which instances hold a user (an empty answer: no connection anywhere). */
  routes: Pick<SessionRoutes, "lookup">;
  log: Logger;
  /** Bound on one POST (default 5 000). */
  timeoutMs?: number;
  /** Events waiting at most; past it new ones are dropped and logged (default 10 000). */
  queueMax?: number;
  /** Tries of one event before it is dropped (default 8). */
  attempts?: number;
  /** First retry delay; doubled each time up to 60 s, with jitter (default 1 000). */
  retryBaseMs?: number;
  /** POSTs under way at once (default 4). */
  concurrency?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Runs `fn` in `ms` (fake time in tests). */
  schedule?: (fn: () => void, ms: number) => void;
}

/** What the backend receives: `event`, a delivery `id` (the same on every retry), `data`. */
export interface WebhookEvent {
  id: string;
  event: "message.stored" | "message.offline" | "message.recalled" | "message.edited" | "message.deleted";
  at: string;
  data: Record<string, unknown>;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`): what `X-IM-Signature` carries. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

interface Job {
  event: WebhookEvent;
  body: string;
  tries: number;
}

export type Webhooks = MessageHooks & {
  /** Events waiting or being sent. */
  readonly pending: number;
  /** Stops sending; what is still queued is dropped (and logged). */
  close(): void;
};

export function createWebhooks(o: WebhookOptions): Webhooks {
  const doFetch = o.fetch ?? fetch;
  const now = o.now ?? Date.now;
  const schedule = o.schedule ?? ((fn: () => void, ms: number) => void setTimeout(fn, ms).unref?.());
  const queueMax = o.queueMax ?? 10_000;
  const attempts = o.attempts ?? 8;
  const retryBaseMs = o.retryBaseMs ?? 1000;
  const timeoutMs = o.timeoutMs ?? 5000;
  const concurrency = o.concurrency ?? 4;
  const dropped = everyInterval(o.log, "webhook.dropped");
  const failed = everyInterval(o.log, "webhook.failed");
  const ready: Job[] = [];
  let waiting = 0; // scheduled for a retry
  let sending = 0;
  let closed = false;
  let seq = 0;

  function enqueue(event: WebhookEvent["event"], data: Record<string, unknown>): void {
    if (closed) return;
    if (ready.length + waiting + sending >= queueMax) return dropped({ event, reason: `queue full (${queueMax})` });
    const e: WebhookEvent = { id: `${data.eventId ?? data.msgId}-${event.slice(8, 9)}-${(++seq).toString(36)}`, event, at: new Date(now()).toISOString(), data };
    ready.push({ event: e, body: JSON.stringify(e), tries: 0 });
    pump();
  }

  function pump(): void {
    while (!closed && sending < concurrency && ready.length) {
      const job = ready.shift()!;
      sending++;
      void post(job).finally(() => {
        sending--;
        pump();
      });
    }
  }

  /** One try; a failure that may pass (a network error, a timeout, 408, 429, 5xx) is tried again later. */
  async function post(job: Job): Promise<void> {
    job.tries++;
    const timestamp = String(Math.floor(now() / 1000));
    let status = -1; // no answer: a network error or the timeout
    let err: unknown;
    try {
      const res = await doFetch(o.url, {
        method: "POST",
        body: job.body,
        headers: {
          "content-type": "application/json",
          "x-im-event": job.event.event,
          "x-im-delivery": job.event.id,
          "x-im-timestamp": timestamp,
          "x-im-signature": webhookSignature(o.secret, timestamp, job.body),
        },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "manual",
      });
      status = res.status;
      await res.body?.cancel().catch(() => {});
      if (status >= 200 && status < 300) return;
    } catch (e) {
      err = e;
    }
    const final = status > 0 && status < 500 && status !== 408 && status !== 429;
    if (final || job.tries >= attempts || closed) return failed({ event: job.event.event, id: job.event.id, tries: job.tries, status, err });
    waiting++;
    const delay = Math.min(60_000, retryBaseMs * 2 ** (job.tries - 1)) * (0.75 + Math.random() / 2);
    schedule(() => {
      waiting--;
      if (closed) return;
      ready.push(job);
      pump();
    }, delay);
  }

  /** The receivers of `msg` with no connection on any instance. */
  async function offline(msg: StoredMsg, audience: Audience): Promise<string[]> {
    const users = audience.kind === "pair" ? [audience.receiverId] : audience.kind === "members" ? audience.userIds.filter((u) => u !== msg.senderId) : [];
    const held = await Promise.all(users.map((u) => o.routes.lookup([u])));
    return users.filter((_, i) => held[i].length === 0);
  }

  return {
    stored(msg, audience) {
      const data = { ...msg };
      enqueue("message.stored", data);
      offline(msg, audience).then(
        (userIds) => userIds.length && enqueue("message.offline", { ...data, offlineUserIds: userIds }),
        (err) => failed({ event: "message.offline", msgId: msg.msgId, err, hint: "who is online could not be read" }),
      );
    },
    changed(event, target) {
      const kind = editKindOfType(event.msgType);
      if (!kind) return;
      // msgId names the message changed, eventId the stored event; msg is an edit's new text.
      const data: Record<string, unknown> = {
        msgId: target.msgId, eventId: event.msgId, senderId: event.senderId, receiverId: target.receiverId, chatTime: event.chatTime,
        ...(kind === "edit" ? { msg: event.msg ?? "" } : {}),
      };
      enqueue(kind === "recall" ? "message.recalled" : kind === "edit" ? "message.edited" : "message.deleted", data);
    },
    get pending() {
      return ready.length + waiting + sending;
    },
    close() {
      closed = true;
      const left = ready.length + waiting;
      ready.length = 0;
      if (left) o.log.warn("webhook.dropped_at_close", { events: left });
    },
  };
}
