/**
 * `npm test`: the whole suite as shards side by side (two by default, `TEST_SHARDS` to change), each a Jest
 * process running its files one at a time with a PostgreSQL database and a Temporal dev server of its own
 * (Jest's globalSetup), so that no shard can see another's rows or workflows. Both cores of a small machine
 * work instead of one. The split is by the weights in test/helpers/shard-sequencer.ts.
 *
 * With arguments (`npm test -- test/unit/money.test.ts`, `-t 'a name'`, `--json …`) one Jest process runs
 * what they select, as `jest --runInBand` does.
 *
 * The first shard prints as it runs; the others print when they end, so that no two reports interleave.
 * The exit code is the first failing shard's, or 0.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const JEST = fileURLToPath(new URL('../node_modules/jest/bin/jest.js', import.meta.url));
const args = process.argv.slice(2);
const shards = args.length > 0 ? 1 : Number(process.env.TEST_SHARDS ?? 2);
if (!Number.isInteger(shards) || shards < 1) throw new Error(`TEST_SHARDS must be a whole number of 1 or more, not ${process.env.TEST_SHARDS}`);

const children = Array.from({ length: shards }, (_, index) => {
  const shard = shards > 1 ? [`--shard=${index + 1}/${shards}`] : [];
  const live = index === 0;
  const child = spawn(process.execPath, ['--experimental-vm-modules', JEST, '--runInBand', ...shard, ...args], {
    stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ended = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  return { index, child, ended, output: () => output };
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const { child } of children) child.kill(signal);
  });
}

const codes = await Promise.all(children.map(({ ended }) => ended));
for (const { index, output } of children.slice(1)) {
  process.stdout.write(`\n──── shard ${index + 1} of ${shards} ────\n${output()}`);
}
if (shards > 1) {
  process.stdout.write(`\n${codes.map((code, index) => `shard ${index + 1}: ${code === 0 ? 'passed' : `failed (exit ${code})`}`).join(', ')}\n`);
}
process.exitCode = codes.find((code) => code !== 0) ?? 0;
