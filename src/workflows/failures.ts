/**
 * How workflow code reads the failure an activity ended with, by the catalogue of src/domain/failures.ts
 * (the one list of stable failure types). Only business failures are read here: a timeout or a
 * cancellation is no ApplicationFailure of an activity and passes through as it is.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { FAILURES, type FailureName } from '../domain/failures.ts';

export { FAILURES, failureTypes } from '../domain/failures.ts';

/** The ApplicationFailure an activity ended with, if that is how it ended. */
export function activityFailure(error: unknown): ApplicationFailure | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
}

/** The activity's failure when it is one of the named ones; undefined otherwise. */
export function failedWith(error: unknown, ...names: FailureName[]): ApplicationFailure | undefined {
  const failure = activityFailure(error);
  return failure && names.some((name) => FAILURES[name].type === failure.type) ? failure : undefined;
}

/** The first details object of a failure (its `declineCode`, `errorType`, …), or an empty one. */
export function detailsOf<T extends object>(failure: ApplicationFailure): Partial<T> {
  const [details] = failure.details ?? [];
  return typeof details === 'object' && details !== null ? (details as Partial<T>) : {};
}

/** The decline carried by a failed charge activity, if that is why it failed. */
export function declineOf(error: unknown): { declineCode: string; message: string } | undefined {
  // A permanent refusal by the gateway (amount too small, card detached, key conflict) ends the charge as a decline does.
  const failure = failedWith(error, 'cardDeclined', 'chargeRefused');
  if (!failure) return undefined;
  return { declineCode: detailsOf<{ declineCode: string }>(failure).declineCode ?? 'card_declined', message: failure.message };
}

/** An ApplicationFailure of the named type: a workflow's refusal of an update, or of its input. */
export function refusal(name: FailureName, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type: FAILURES[name].type, message, nonRetryable: true, ...(details ? { details: [details] } : {}) });
}
