import { DefaultLogger, Runtime } from '@temporalio/worker';

/** The SDK runtime logs at ERROR in tests (TEST_TEMPORAL_LOG_LEVEL to change); installed once per process. */
export function quietTemporalRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.TEST_TEMPORAL_LOG_LEVEL as 'WARN' | undefined) ?? 'ERROR') });
  } catch {
    // already installed by an earlier test file in this process
  }
}
