/**
 * The production entry points: `npm run api` and `npm run worker` are single processes configured only
 * by the environment, refuse a bad configuration by naming the variable, and stop cleanly on SIGTERM, during
 * start-up too, however often the signal is passed on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/dev/temporal-dev-server.ts';
import { uniqueId } from '../helpers/stack.ts';
import { testRun } from '../helpers/test-run.ts';
import { until } from '../helpers/wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(script: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function baseEnv(): Record<string, string> {
  const testRunEnv = testRun();
  return {
    DATABASE_URL: testRunEnv.databaseUrl,
    TEMPORAL_ADDRESS: testRunEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: uniqueId('process-queue'),
    LOG_LEVEL: 'info',
  };
}

describe('production entry points', () => {
  it('the API refuses to start on a bad variable and names it', async () => {
    const api = run('src/api/server.ts', { ...baseEnv(), PORT: 'eighty' });
    expect(await api.exited).toBe(1);
    expect(api.output()).toMatch(/PORT /);
  });

  it('the API serves, then drains and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const api = run('src/api/server.ts', { ...baseEnv(), PORT: String(port) });
    await until(
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, what: 'the API to be ready' },
    );
    api.child.kill('SIGTERM');
    api.child.kill('SIGTERM'); // passed on again (npm, a shell): the stop under way finishes, once
    expect(await api.exited).toBe(0);
    expect(api.output()).toContain('"msg":"api stopped"');
    expect(api.output().match(/"msg":"api stopped"/g)).toHaveLength(1);
  });

  it('the worker stops on a SIGTERM during its start-up, and writes one JSON stream (the SDK through pino)', async () => {
    const worker = run('src/worker.ts', { ...baseEnv(), RECONCILE_SCHEDULE: 'off' });
    await until(() => worker.output().includes('installation checked'), { timeoutMs: 60_000, what: 'the worker to check its installation' });
    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    if (code !== 0) throw new Error(`exit ${code}: ${worker.output()}`);
    expect(worker.output()).toContain('worker stopped');
    const lines = worker
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '' && !/ExperimentalWarning|--trace-warnings/.test(line));
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('the worker polls, then exits 0 on SIGTERM', async () => {
    const worker = run('src/worker.ts', baseEnv());
    await until(() => worker.output().includes('worker started'), { timeoutMs: 60_000, what: 'the worker to start' });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('worker stopped');
  });
});
