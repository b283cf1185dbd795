// Delivery marks: which stored messages were handed on for delivery, so that a resend after a
// crash between store and publish is delivered (once) instead of being deduplicated into silence.

export interface DeliveryMarks {
  /** Records that `msgId` was delivered locally and handed to the bus (best effort, not awaited). */
  mark(msgId: string): void;
  /** True when `msgId` was marked within the dedupe window. */
  isMarked(msgId: string): Promise<boolean>;
}

/**
 * Standalone: delivery is in-process and happens before the ack, so a stored message was always
 * delivered — unless the process died, and then every client reconnected and replayed anyway.
 */
export const alwaysMarked: DeliveryMarks = {
  mark() {},
  isMarked: async () => true,
};
