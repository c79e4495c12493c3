/**
 * The short run of `npm run chaos` (docs/reliability.md): about 200 money operations against two APIs and
 * two workers while workers and APIs are SIGKILLed and PostgreSQL and the Temporal server restarted; every
 * invariant must hold. The long run is the separate command.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('200 operations under faults keep every invariant', async () => {
  const child = spawn(process.execPath, ['scripts/chaos.ts', '--ops', '200', '--concurrency', '10', '--fault-rate', '0.05', '--seed', '7', '--quiet'], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const summary = /(\d+) passed, (\d+) failed/.exec(output);
  if (code !== 0 || !summary) throw new Error(`npm run chaos ended with ${code}:\n${output.slice(-6000)}`);
  expect(Number(summary[2])).toBe(0);
  expect(Number(summary[1])).toBe(10);
  // seed 7's schedule has faults of every kind (`npm run chaos -- --ops 200 --fault-rate 0.05 --seed 7 --plan-only`)
  const faults = JSON.parse(/faults (\{[^}]*\})/.exec(output)![1]!) as Record<string, number>;
  expect(faults).toEqual({ worker: 3, api: 2, postgres: 4, temporal: 1 });
}, 900_000);
