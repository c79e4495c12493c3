/** The SDK's logs as pino lines: a catalogued business failure (a card declined) is one line with its type, no stack. */
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { pino } from 'pino';
import { sdkLogger } from '../../src/sdk-logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: sdkLogger(pino({ level: 'info' }, stream)) };
}

describe('the SDK logger', () => {
  it('writes a declined charge as one WARN line with its failure type and message', () => {
    const { lines, logger } = capture();
    const declined = ApplicationFailure.create({ type: 'CardDeclined', message: 'Your card was declined.', details: [{ declineCode: 'card_declined' }], nonRetryable: true });
    logger.warn('Activity failed', { activityType: 'chargeCard', error: declined });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'Activity failed',
      sdk: true,
      activityType: 'chargeCard',
      outcome: { type: 'CardDeclined', message: 'Your card was declined.' },
    });
    expect(JSON.stringify(lines[0])).not.toContain('stack');
  });

  it('keeps a real fault with its error, and maps the levels', () => {
    const { lines, logger } = capture();
    logger.error('Activity failed', { error: new Error('connection refused') });
    logger.debug('not written at info');
    logger.info('Workflow bundle created', { size: '2MB' });
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [50, 'Activity failed'],
      [30, 'Workflow bundle created'],
    ]);
    expect(lines[0]!.err).toMatchObject({ type: 'Error', message: 'connection refused', stack: expect.stringContaining('connection refused') });
  });
});
