/** Tests are transpiled by swc (TypeScript 7 has no compiler API for ts-jest) and run as native ESM. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  // A guard against a hang, not a budget: tests wait on outcomes, and one busy core may take minutes where an
  // idle machine takes seconds. No test sets a shorter one of its own.
  testTimeout: 600_000,
  maxWorkers: 1,
  // `npm test` runs shards side by side (scripts/test.ts); this splits them by time
  testSequencer: '<rootDir>/test/helpers/shard-sequencer.ts',
};
