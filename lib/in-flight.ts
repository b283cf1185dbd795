// Work under way: promises a graceful stop waits for (frames being handled, publishes unconfirmed).

export interface InFlight {
  /** Tracks `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Resolves once nothing is under way, including work started while waiting. */
  idle(): Promise<void>;
  /** Resolves once nothing is under way or `ms` passed, whichever comes first. */
  idleWithin(ms: number): Promise<void>;
  readonly size: number;
}

export function createInFlight(): InFlight {
  const running = new Set<Promise<unknown>>();
  const idle = async () => {
    while (running.size) await Promise.allSettled([...running]);
  };
  return {
    track(work) {
      running.add(work);
      const forget = () => void running.delete(work);
      work.then(forget, forget);
      return work;
    },
    idle,
    idleWithin: (ms) => Promise.race([idle(), new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.())]),
    get size() {
      return running.size;
    },
  };
}
