/** What globalSetup started for this test run, written to a file that every test file reads. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/dev/temporal-dev-server.ts';

export interface TestRun {
  databaseUrl: string;
  adminDatabaseUrl: string;
  databaseName: string;
  temporalAddress: string;
}

export const TEST_RUN_FILE = join(PROJECT_ROOT, '.data', 'test-run.json');

export function testRun(): TestRun {
  return JSON.parse(readFileSync(TEST_RUN_FILE, 'utf8')) as TestRun;
}
