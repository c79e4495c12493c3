/**
 * The worker's Node flags (decision 0112) are where the worker is started: `npm run worker` and the compose
 * file's worker, the same as WORKER_NODE_FLAGS (which the chaos, fuzz and bench scripts use); and with them
 * Node bounds the heap as the decision says.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WORKER_NODE_FLAGS } from '../../src/worker.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}${file}`, 'utf8');

it('npm run worker starts the worker with WORKER_NODE_FLAGS', () => {
  const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.worker!;
  const words = script.split(/\s+/);
  expect(words.slice(words.length - 1 - WORKER_NODE_FLAGS.length)).toEqual([...WORKER_NODE_FLAGS, 'src/worker.ts']);
});

it("the compose file's worker runs with WORKER_NODE_FLAGS", () => {
  const command = /^ {2}worker:\n(?: {4}.*\n)*? {4}command: (\[.*\])$/m.exec(read('docker-compose.yml'))?.[1];
  expect(command && JSON.parse(command)).toEqual(['node', ...WORKER_NODE_FLAGS, 'src/worker.ts']);
});

it('with WORKER_NODE_FLAGS a V8 heap is bounded well under 512 MiB and its young generation to 32 MiB', () => {
  const out = execFileSync(
    process.execPath,
    [
      ...WORKER_NODE_FLAGS,
      '-e',
      // garbage enough to grow the young generation to its bound
      "const v8 = require('node:v8'); let keep = []; for (let i = 0; i < 2e6; i += 1) { keep.push({ i }); if (keep.length > 1e5) keep = []; } " +
        "const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size; " +
        'console.log(JSON.stringify({ limit: v8.getHeapStatistics().heap_size_limit, young }))',
    ],
    { encoding: 'utf8' },
  );
  const { limit, young } = JSON.parse(out) as { limit: number; young: number };
  expect(limit / 2 ** 20).toBeLessThan(512);
  expect(young / 2 ** 20).toBeLessThanOrEqual(32);
});
