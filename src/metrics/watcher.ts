/**
 * The watcher process's metrics (decision 0099): a registry of its own with Node's process metrics and the
 * catalogue's watcher metrics (scans, reorgs, orphaned credits), made this process's recorder, served at
 * `http://WATCHER_METRICS_HOST:WATCHER_METRICS_PORT/metrics` when the port is set.
 */
import { createServer } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { registryRecorder } from './api.ts';
import { setProcessRecorder } from './record.ts';

export interface WatcherMetrics {
  /** host:port it listens on */
  address: string;
  close: () => Promise<void>;
}

export async function startWatcherMetrics(config: Pick<Config, 'WATCHER_METRICS_PORT' | 'WATCHER_METRICS_HOST'>): Promise<WatcherMetrics | undefined> {
  if (config.WATCHER_METRICS_PORT === undefined) return undefined;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  setProcessRecorder(registryRecorder(registry, 'watcher'));
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.WATCHER_METRICS_PORT, config.WATCHER_METRICS_HOST, () => resolve());
  });
  return {
    address: `${config.WATCHER_METRICS_HOST}:${config.WATCHER_METRICS_PORT}`,
    close: async () => {
      setProcessRecorder(undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
