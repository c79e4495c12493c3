import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

export interface TemporalSettings {
  address: string;
  namespace: string;
  /**
   * How many times a call is tried while the server is unavailable (the SDK's backoff: 0.1 s × 1.7ⁿ, at most
   * 5 s apart). Unset: the SDK's 10 tries, about 20 s, for processes with no one waiting (workers, watcher).
   */
  attempts?: number;
}

/** Connects a Temporal client; the caller closes `connection` on shutdown. */
export async function connectTemporal(settings: TemporalSettings): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({
    address: settings.address,
    connectTimeout: '10s',
    ...(settings.attempts === undefined ? {} : { interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: settings.attempts }))] }),
  });
  const client = new Client({ connection, namespace: settings.namespace });
  return { connection, client };
}
