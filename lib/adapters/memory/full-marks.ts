// Standalone full marks: the only instance is full or not; getNettyOnlineInfo still names it.
import type { FullMarks } from "../../core/directory.ts";

export function createLocalFullMarks(selfId: string): FullMarks {
  let full = false;
  return {
    set(value) {
      full = value;
    },
    has: (instanceId) => full && instanceId === selfId,
  };
}
