import { AppError } from '../domain/errors.ts';

/** Waits at most `seconds` for a workflow's outcome: undefined when it is not there yet (the route answers 202 pending). */
export async function waitFor<T>(promise: Promise<T>, seconds: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    // A late failure of the abandoned promise is nobody's to handle: it must not become an unhandled rejection.
    promise.catch(() => undefined);
  }
}

/**
 * Waits at most `seconds` for a workflow's answer to an update; after that the request answers 503 and may
 * be repeated (every update the API sends is safe to repeat): a request never hangs on a workflow whose
 * worker is not there.
 */
export async function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('service_unavailable', `${what} did not answer within ${seconds} seconds; the request is safe to repeat.`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    // A late failure of the abandoned promise is nobody's to handle: it must not become an unhandled rejection.
    promise.catch(() => undefined);
  }
}
