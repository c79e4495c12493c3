/**
 * Recording a metric of the catalogue from any layer, without a handle on the process it runs in
 * (decision 0099). In an activity the value goes to that activity's Temporal metric meter, which the SDK
 * finds through AsyncLocalStorage and the worker's Prometheus exporter serves (with the activity's
 * namespace, task queue and type as labels); in an API request to the app's own registry, which the
 * metrics middleware puts in an AsyncLocalStorage of ours; in the watcher process to its registry
 * (setProcessRecorder); anywhere else (scripts, a unit test) nowhere. So the ledger counts what it writes in whichever process writes it, and no signature
 * carries a meter. Recording never throws: a metric must not fail a money step.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import { METRICS, type CounterName, type GaugeName, type LabelsOf } from './catalogue.ts';

/** Where a process's metrics go: the API's prom-client registry (src/metrics/api.ts). */
export interface Recorder {
  count(name: CounterName, labels: Record<string, string>, by: number): void;
  set(name: GaugeName, labels: Record<string, string>, value: number): void;
}

const requestRecorder = new AsyncLocalStorage<Recorder>();
/** The recorder of a process that has one for everything it does (the watcher's registry); else none. */
let processRecorder: Recorder | undefined;

/** Makes `recorder` where this process's metrics go outside requests and activities (undefined: nowhere). */
export function setProcessRecorder(recorder: Recorder | undefined): void {
  processRecorder = recorder;
}

/** Runs `fn` (an API request) with its metrics going to `recorder`. */
export function withRecorder<T>(recorder: Recorder, fn: () => T): T {
  return requestRecorder.run(recorder, fn);
}

/** Adds `by` (1 by default) to a counter of the catalogue. */
export function count<N extends CounterName>(name: N, labels: LabelsOf<N>, by = 1): void {
  record((recorder) => recorder.count(name, labels, by));
}

/** Sets a gauge of the catalogue. */
export function setGauge<N extends GaugeName>(name: N, labels: LabelsOf<N>, value: number): void {
  record((recorder) => recorder.set(name, labels, value));
}

function record(write: (recorder: Recorder) => void): void {
  const recorder = requestRecorder.getStore() ?? activityRecorder() ?? processRecorder;
  if (!recorder) return;
  try {
    write(recorder);
  } catch {
    // a label the exporter refuses, a meter shut down: the money step goes on
  }
}

/** The current activity's meter as a recorder; undefined outside an activity. */
function activityRecorder(): Recorder | undefined {
  let meter: MetricMeter;
  try {
    meter = Context.current().metricMeter;
  } catch {
    return undefined; // not in an activity
  }
  // The exporter keeps one series per name and labels: an instrument made again for each event adds to the same one.
  return {
    count: (name, labels, by) => meter.createCounter(name, '', METRICS[name].help).add(by, labels),
    set: (name, labels, value) => meter.createGauge(name, 'int', '', METRICS[name].help).set(value, labels),
  };
}
