/**
 * The first SIGINT or SIGTERM a process gets, whenever it comes: during start-up (the caller checks it
 * between steps and stops there) or while running. Later signals are reported and otherwise ignored: the
 * stop already under way finishes (npm and a shell may pass the same signal on more than once). Installed
 * first thing in every entry point, so that no signal is lost to a default handler or to the Temporal
 * SDK's own (which the processes switch off: `shutdownSignals: []`).
 */
export interface StopSignal {
  /** whether a signal came */
  readonly requested: boolean;
  /** resolves with the first signal */
  readonly received: Promise<NodeJS.Signals>;
}

export function listenForStop(onRepeat: (signal: NodeJS.Signals) => void = () => undefined): StopSignal {
  let first: NodeJS.Signals | undefined;
  let resolve!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((done) => (resolve = done));
  const handler = (signal: NodeJS.Signals) => {
    if (first) return onRepeat(signal);
    first = signal;
    resolve(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get requested() {
      return first !== undefined;
    },
    received,
  };
}
