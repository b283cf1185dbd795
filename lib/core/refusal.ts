// A refusal: what the core answers a request it will not carry out, with the protocol's code and a
// message a person can act on. WebSocket sends it as an error frame, HTTP as a status.
import type { ErrorCode } from "../protocol/frames.ts";

export class Refusal extends Error {
  override name = "Refusal";
  /** `closeWith`: close the connection with this code and reason once the refusal was sent. */
  constructor(readonly code: ErrorCode, message: string, readonly closeWith?: readonly [number, string]) {
    super(message);
  }
}

/** Throws a Refusal (typed `never`, so `return refuse(…)` ends a branch). */
export function refuse(code: ErrorCode, message: string, closeWith?: readonly [number, string]): never {
  throw new Refusal(code, message, closeWith);
}
