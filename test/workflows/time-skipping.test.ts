import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTimeSkippingEnv } from '../helpers/time-skipping.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

describe('the time-skipping test server', () => {
  it('lets a year of workflow time pass in seconds', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'time-skipping-probe',
      workflowsPath: fileURLToPath(new URL('./fixtures/sleepy.ts', import.meta.url)),
    });
    const started = Date.now();
    const before = await env.currentTimeMs();
    const result = await worker.runUntil(env.client.workflow.execute('sleepAYear', { taskQueue: 'time-skipping-probe', workflowId: 'sleep-a-year' }));
    expect(result).toBe('woke');
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(365 * 24 * 3600 * 1000);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
