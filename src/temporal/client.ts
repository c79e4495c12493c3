import { Client, Connection } from '@temporalio/client';

export interface TemporalSettings {
  address: string;
  namespace: string;
}

/** Connects a Temporal client; the caller closes `connection` on shutdown. */
export async function connectTemporal(settings: TemporalSettings): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({ address: settings.address, connectTimeout: '10s' });
  const client = new Client({ connection, namespace: settings.namespace });
  return { connection, client };
}
