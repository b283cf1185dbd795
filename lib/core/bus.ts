// The message bus: hands serialized DataContent frames to other instances.

export interface MessageBus {
  /**
   * Sends one serialized DataContent to the given instances (ids `<ip>_<port>`, never this one),
   * or to every other instance with "all". Resolves once the broker has accepted it.
   */
  publish(targets: readonly string[] | "all", frame: string): Promise<void>;
  /** Sets the handler for frames that other instances sent to this one. */
  onFrame(handler: (frame: string) => void): void;
  /** "ok" or a short reason. */
  health(): Promise<string>;
  close(): Promise<void>;
}
