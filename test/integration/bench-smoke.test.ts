/**
 * `npm run bench -- --smoke` (docs/performance.md): one very short run of every scenario against the
 * production shape it starts itself, with its zero-drift checks. Only that it works is checked: the exit code
 * and every figure's label, never a figure (a busy machine measures anything).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expectedLabels, SCENARIOS } from '../../scripts/bench/report.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('a smoke run of every scenario exits 0 and prints every figure', async () => {
  const child = spawn(process.execPath, ['scripts/bench.ts', '--smoke'], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`npm run bench -- --smoke ended with ${code}:\n${output.slice(-6000)}`);
  const missing = expectedLabels(SCENARIOS).filter((label) => !output.includes(label));
  expect(missing).toEqual([]);
});
