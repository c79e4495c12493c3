/** Waiting on an outcome: a read is repeated until what it answers satisfies a check. */

export interface WaitOptions<T> {
  /** gives up after this many ms; without it only the outcome ends the wait (the test's own timeout bounds it) */
  timeoutMs?: number;
  /** pause between two reads, in ms */
  intervalMs?: number;
  /** what is awaited, named in the error on a timeout */
  what?: string;
  /** more for the error on a timeout, from the last value read */
  detail?: (last: T) => string;
  /** on a timeout, answers the last value read instead of throwing (for a caller that asserts on it) */
  orLast?: boolean;
}

/** Reads again until `done` holds for the value read, and answers that value. */
export async function eventually<T>(read: () => T | Promise<T>, done: (value: T) => boolean, options: WaitOptions<T> = {}): Promise<T> {
  const { timeoutMs, intervalMs = 200, what = 'condition', detail = (last: T) => `last: ${JSON.stringify(last)}`, orLast = false } = options;
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (deadline !== undefined && Date.now() > deadline) {
      if (orLast) return value;
      const said = detail(value);
      throw new Error(`${what} not met in ${timeoutMs} ms${said ? `: ${said}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Checks again until `check` holds. */
export async function until(check: () => boolean | Promise<boolean>, options: Omit<WaitOptions<boolean>, 'orLast'> = {}): Promise<void> {
  await eventually(check, (holds) => holds, { detail: () => '', ...options });
}
