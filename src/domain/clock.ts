/** Wall-clock time, injected so that tests can move it. Workflows use workflow time instead. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
