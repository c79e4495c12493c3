/**
 * What globalSetup started for this test run. It travels in an environment variable (set before Jest
 * creates any test environment), so that two test runs on one machine never share state.
 */
export interface TestRun {
  databaseUrl: string;
  adminDatabaseUrl: string;
  databaseName: string;
  temporalAddress: string;
  /** the workflow code, bundled once for the run: every worker and replay of the run loads this file */
  workflowBundlePath: string;
}

export const TEST_RUN_VARIABLE = 'PAYMENT_ENGINE_TEST_RUN';

export function testRun(): TestRun {
  const raw = process.env[TEST_RUN_VARIABLE];
  if (!raw) throw new Error(`${TEST_RUN_VARIABLE} is not set: run the tests with \`npm test\` (Jest's globalSetup sets it).`);
  return JSON.parse(raw) as TestRun;
}
