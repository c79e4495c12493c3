import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';

type Interceptor = NonNullable<ConnectionOptions['interceptors']>[number];

export interface TemporalSettings {
  address: string;
  namespace: string;
  /**
   * How many times a call is tried while the server is unavailable (the SDK's backoff: 0.1 s × 1.7ⁿ, at most
   * 5 s apart). Unset: the SDK's 10 tries, about 20 s, for processes with no one waiting (workers, watcher).
   */
  attempts?: number;
}

/**
 * Connects a Temporal client; the caller closes `connection` on shutdown.
 *
 * The SDK's retry interceptor schedules each retry on a timer and creates the retried call when it fires.
 * A call still retrying when the connection is closed (say a request's long poll for a workflow result,
 * abandoned after its 202) would then create a call on a closed channel, which throws "Channel has been
 * shut down" from the timer, an uncaught exception. So this connection's `close()` first stops new retries,
 * waits for the timers already set (at most the 5 s backoff cap) and only then closes.
 */
export async function connectTemporal(settings: TemporalSettings): Promise<{ connection: Connection; client: Client }> {
  const retries = closableRetries(settings.attempts ?? 10);
  const connection = await Connection.connect({ address: settings.address, connectTimeout: '10s', interceptors: [retries.interceptor] });
  const close = connection.close.bind(connection);
  Object.defineProperty(connection, 'close', {
    value: async () => {
      await retries.drain();
      await close();
    },
  });
  const client = new Client({ connection, namespace: settings.namespace });
  return { connection, client };
}

/**
 * The SDK's retry interceptor, with a count of the retries its timers still have to start, and a way to stop
 * retrying: `drain()` before closing the connection it is installed on.
 */
export function closableRetries(maxAttempts: number): { interceptor: Interceptor; drain: () => Promise<void> } {
  const base = defaultGrpcRetryOptions({ maxAttempts });
  let closing = false;
  let pending = 0;
  const retrying = makeGrpcRetryInterceptor({
    delayFunction: base.delayFunction,
    retryableDecider: (attempt, status) => {
      if (closing || !base.retryableDecider(attempt, status)) return false;
      pending += 1;
      return true;
    },
  });
  const interceptor: Interceptor = (options, nextCall) => {
    let first = true;
    return retrying(options, (callOptions) => {
      // Every call after the first is a retry whose timer has fired.
      if (first) first = false;
      else pending -= 1;
      return nextCall(callOptions);
    });
  };
  const drain = async () => {
    closing = true;
    while (pending > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  return { interceptor, drain };
}
