import { migrationsList } from '../../src/db/migrations/index.ts';
import { client } from '../helpers/http.ts';
import { startStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

describe('API ↔ Temporal ↔ worker round trip', () => {
  it('runs the system-check workflow on a real worker and answers what it found in PostgreSQL', async () => {
    const call = client(stack.url, stack.operatorKey);
    const answer = await stack.withWorker(() => call('GET', '/operator/v1/diagnostics/worker'));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      ok: true,
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      database: { reachable: true, migrations: migrationsList.map((migration) => migration.name) },
    });
    expect(answer.body.workflowId).toMatch(/^system-check-req_/);
  });

  it('is ready when PostgreSQL and Temporal answer, without a key', async () => {
    const call = client(stack.url);
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: true, temporal: true } });
  });
});
