/**
 * The worker's metrics (decision 0099): the Temporal SDK's Prometheus exporter, which serves the SDK's own
 * worker metrics and every counter the activities record on their metric meter (src/metrics/record.ts),
 * and the card gateway as the activities see it, counting what it answered.
 */
import { Runtime } from '@temporalio/worker';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { sdkLogger } from '../sdk-logger.ts';
import { CardDeclinedError, type CardGateway } from '../gateway/card-gateway.ts';
import { count } from './record.ts';

/** Where the SDK's Prometheus exporter listens: WORKER_METRICS_HOST:WORKER_METRICS_PORT, or undefined (no exporter) when the port is unset. */
export function workerMetricsAddress(config: Pick<Config, 'WORKER_METRICS_PORT' | 'WORKER_METRICS_HOST'>): string | undefined {
  if (config.WORKER_METRICS_PORT === undefined) return undefined;
  const host = config.WORKER_METRICS_HOST.includes(':') ? `[${config.WORKER_METRICS_HOST}]` : config.WORKER_METRICS_HOST;
  return `${host}:${config.WORKER_METRICS_PORT}`;
}

/**
 * Installs the process's SDK runtime, once, before any worker or native connection: the SDK's logs (and the
 * native core's, forwarded) through the process's pino logger, no signal handling of its own (the process
 * stops everything itself on SIGINT/SIGTERM, src/stop-signal.ts), and the Prometheus exporter when
 * WORKER_METRICS_PORT is set (it serves `/metrics` there). Answers the exporter's address, or undefined.
 */
export function installWorkerRuntime(config: Pick<Config, 'WORKER_METRICS_PORT' | 'WORKER_METRICS_HOST'>, logger: Logger): string | undefined {
  const bindAddress = workerMetricsAddress(config);
  Runtime.install({
    logger: sdkLogger(logger),
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(bindAddress ? { metrics: { prometheus: { bindAddress } } } : {}),
    },
  });
  return bindAddress;
}

/**
 * The gateway, counting each charge and refund by what the gateway answered. Every call is an activity's,
 * so the counts land on that activity's meter. A retried activity counts each of its attempts: a transient
 * failure then its success is one `failed` and one `succeeded`.
 */
export function meteredGateway(gateway: CardGateway): CardGateway {
  return {
    name: gateway.name,
    tokenise: (token, tenantId) => gateway.tokenise(token, tenantId),
    charge: async (request) => {
      try {
        const result = await gateway.charge(request);
        count('card_charges_total', { outcome: 'succeeded' });
        return result;
      } catch (error) {
        if (error instanceof CardDeclinedError) {
          count('card_charges_total', { outcome: 'declined' });
          count('card_declines_total', { decline_code: boundedCode(error.declineCode) });
        } else {
          count('card_charges_total', { outcome: 'failed' });
        }
        throw error;
      }
    },
    refund: async (request) => {
      try {
        const result = await gateway.refund(request);
        count('card_refunds_total', { outcome: 'succeeded' });
        return result;
      } catch (error) {
        count('card_refunds_total', { outcome: 'failed' });
        throw error;
      }
    },
  };
}

/** A decline code as a label: the gateways' codes are short snake_case words; anything else is `other`, so no gateway text makes new series. */
function boundedCode(code: string): string {
  return /^[a-z][a-z0-9_]{0,47}$/.test(code) ? code : 'other';
}
