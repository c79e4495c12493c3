/** The metric recorder and the metered gateway (decision 0099), without a process around them: what each answer counts. */
import { CardDeclinedError, GatewayUnavailableError, type CardGateway } from '../../src/gateway/card-gateway.ts';
import { Dec } from '../../src/domain/money.ts';
import { count, withRecorder, type Recorder } from '../../src/metrics/record.ts';
import { meteredGateway, workerMetricsAddress } from '../../src/metrics/worker.ts';

/** A recorder that writes down every count as `name{label=value,…} by`. */
function notebook(): { recorder: Recorder; lines: string[] } {
  const lines: string[] = [];
  const write = (name: string, labels: Record<string, string>, value: number) => {
    const pairs = Object.entries(labels).map(([label, text]) => `${label}=${text}`);
    lines.push(`${name}{${pairs.join(',')}} ${value}`);
  };
  return { recorder: { count: write, set: write }, lines };
}

/** The metered gateway over one whose charges and refunds fail with `error`, or succeed without one. */
function metered(error?: Error): CardGateway {
  const answer = <T>(value: T) => (error ? Promise.reject(error) : Promise.resolve(value));
  return meteredGateway({
    name: 'sandbox',
    tokenise: () => Promise.reject(new Error('not used')),
    charge: () => answer({ chargeId: 'ch_1', amount: new Dec('1.00') }),
    refund: () => answer({ refundId: 're_1' }),
  });
}

const charge = { idempotencyKey: 'k', cardRef: 'c', amount: new Dec('1.00'), currency: 'USD' as const, offSession: false, description: 'd' };
const refund = { idempotencyKey: 'r', chargeId: 'ch_1', amount: new Dec('1.00') };

describe('metrics', () => {
  it('records nowhere, and throws nothing, outside an API request and an activity', () => {
    expect(() => count('auth_failures_total', { reason: 'invalid_key' })).not.toThrow();
  });

  it('counts each gateway answer by outcome, a decline by its code, and an unexpected code as other', async () => {
    const { recorder, lines } = notebook();
    await withRecorder(recorder, async () => {
      await metered().charge(charge);
      await expect(metered(new CardDeclinedError('insufficient_funds', 'no')).charge(charge)).rejects.toThrow(CardDeclinedError);
      await expect(metered(new CardDeclinedError('Do Not Honor!', 'no')).charge(charge)).rejects.toThrow(CardDeclinedError);
      await expect(metered(new GatewayUnavailableError('down')).charge(charge)).rejects.toThrow(GatewayUnavailableError);
      await metered().refund(refund);
      await expect(metered(new GatewayUnavailableError('down')).refund(refund)).rejects.toThrow(GatewayUnavailableError);
    });
    expect(lines).toEqual([
      'card_charges_total{outcome=succeeded} 1',
      'card_charges_total{outcome=declined} 1',
      'card_declines_total{decline_code=insufficient_funds} 1',
      'card_charges_total{outcome=declined} 1',
      'card_declines_total{decline_code=other} 1',
      'card_charges_total{outcome=failed} 1',
      'card_refunds_total{outcome=succeeded} 1',
      'card_refunds_total{outcome=failed} 1',
    ]);
  });

  it("binds the worker's exporter only when WORKER_METRICS_PORT is set, and brackets an IPv6 host", () => {
    expect(workerMetricsAddress({ WORKER_METRICS_PORT: undefined, WORKER_METRICS_HOST: '127.0.0.1' })).toBeUndefined();
    expect(workerMetricsAddress({ WORKER_METRICS_PORT: 9464, WORKER_METRICS_HOST: '127.0.0.1' })).toBe('127.0.0.1:9464');
    expect(workerMetricsAddress({ WORKER_METRICS_PORT: 9464, WORKER_METRICS_HOST: '::1' })).toBe('[::1]:9464');
  });
});
