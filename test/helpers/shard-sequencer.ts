/**
 * Splits the suite into shards of about equal time for `npm test` (scripts/test.ts), instead of Jest's split
 * by the hash of each path, which put 220 s in one shard and 127 s in the other.
 *
 * A test file weighs what it took on this repository's reference machine (2 cores, idle), in seconds; a
 * file not listed weighs a few seconds. A wrong weight only makes one shard end later than the other: every
 * shard has its own database and Temporal server, so no split can change what a test sees.
 */
import SequencerModule from '@jest/test-sequencer';
import type { Test } from '@jest/test-result';

// the package's ESM build exports the class itself; its types describe the CommonJS build's `exports.default`
const Sequencer = SequencerModule as unknown as typeof SequencerModule.default;

const SECONDS: Record<string, number> = {
  'test/integration/chaos.test.ts': 70,
  'test/integration/webhooks.test.ts': 50,
  'test/integration/recharge.test.ts': 40,
  'test/integration/prepay-history.test.ts': 31,
  // npm run bench -- --smoke: its own database, Temporal server, API, worker and baselines (docs/performance.md)
  'test/integration/bench-smoke.test.ts': 31,
  'test/workflows/prepay.test.ts': 23,
  'test/integration/token-prepay.test.ts': 17,
  'test/integration/bounded-requests.test.ts': 15,
  'test/integration/idempotency.test.ts': 12,
  'test/integration/processes.test.ts': 10,
  'test/integration/prepay-http.test.ts': 10,
  'test/workflows/token-prepay.test.ts': 9,
  'test/integration/watcher.test.ts': 9,
  // anvil, two stacks and a worker (decision 0102)
  'test/integration/watcher-route-rpc.test.ts': 7,
  'test/workflows/subscription.test.ts': 9,
  'test/integration/temporal-client.test.ts': 8,
  // starts a worker process of its own besides the stack (decision 0099)
  'test/integration/metrics.test.ts': 4,
};
const UNLISTED_SECONDS = 4;

function weightOf(test: Test): number {
  const relative = test.path.slice(test.context.config.rootDir.length + 1);
  return SECONDS[relative] ?? UNLISTED_SECONDS;
}

export default class ShardSequencer extends Sequencer {
  override shard(tests: Test[], { shardIndex, shardCount }: { shardIndex: number; shardCount: number }): Test[] {
    // heaviest first, each to the lightest shard so far; ties broken by path, so every shard computes the same split
    const ordered = [...tests].sort((a, b) => weightOf(b) - weightOf(a) || a.path.localeCompare(b.path));
    const load = new Array<number>(shardCount).fill(0);
    const mine: Test[] = [];
    for (const test of ordered) {
      const lightest = load.indexOf(Math.min(...load));
      load[lightest]! += weightOf(test);
      if (lightest === shardIndex - 1) mine.push(test);
    }
    return mine;
  }
}
