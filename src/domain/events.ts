/**
 * The catalogue of the engine's events: every type, and when it is recorded. An event's id is derived from
 * a key its recorder keeps stable (a workflow's step, a movement, a status reached), so that recording it
 * again (a retried activity, a replayed workflow, a repeated request) writes nothing. docs/events.md shows
 * an example of each (a unit test keeps the two in step); the object an event is about is attached where it
 * is recorded (db/repositories/events.ts).
 */
import { createHash } from 'node:crypto';

export const EVENT_CATALOGUE = {
  'prepay.paid': "a prepay's first payment succeeded (card charged, or its tokens received)",
  'prepay.payment_failed': "a card prepay's first charge was declined (a token prepay short at its deadline ends expired)",
  'prepay.activated': 'a paid prepay was bound to its app; its months start',
  'prepay.renewal_upcoming': "a prepay's period ends soon and it will renew",
  'prepay.renewed': 'a prepay renewed for another period',
  'prepay.past_due': "a prepay's renewal was declined and is retried (dunning)",
  'prepay.completed': 'a prepay served its period and does not renew: stop the app',
  'prepay.expired': 'a prepay ended unpaid or unrenewed: stop the app',
  'prepay.canceled': 'a prepay was canceled (unused months refunded)',
  'prepay.refunded': 'money of a prepay went back (not bound in time, or canceled)',
  'subscription.created': 'a plan subscription was checked out and its first period paid',
  'subscription.renewed': "a subscription's next period was paid from the balance",
  'subscription.resumed': 'a subscription in arrears or suspended was paid and is active again',
  'subscription.arrears': 'a subscription could not be paid; its grace period runs',
  'subscription.suspended': 'a subscription stayed unpaid past its grace period',
  'subscription.canceled': 'a subscription ended (canceled, or unpaid for too long)',
  'balance.low': 'a balance will not cover the next period of the live subscriptions',
  'balance.recharged': 'a card recharge was credited to a balance',
  'transaction.refunded': 'a money movement was refunded (for a card, after the gateway refunded it)',
  'transfer.credited': "a token transfer was credited to a team's balance",
  'transfer.orphaned':
    "a credited (or counted) token transfer's block left the canonical chain in a reorg deeper than the confirmation depth; the credit stands until an operator decides",
  'reconcile.prepay_abandoned': 'the reconciler closed a prepay whose workflow never started, without charging',
  'reconcile.prepay_started': 'the reconciler started the workflow of a token prepay that may receive money',
  'reconcile.subscription_started': "the reconciler started a live subscription's missing workflow",
  'reconcile.workflow_closed': 'the reconciler flagged a row whose workflow closed while the row says live',
  'reconcile.transfer_credited': 'the reconciler credited a transfer signalled to a prepay workflow that closed',
  'webhook_endpoint.disabled': "a webhook endpoint answered 410 Gone or failed for three days (the operator's event)",
} as const;

export type EventType = keyof typeof EVENT_CATALOGUE;
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];

export interface RecordEventInput {
  /** stable across retries and continue-as-new, e.g. `prepay-12-cycle-1-paid` */
  key: string;
  tenantId: string | null;
  type: EventType;
  data: Record<string, unknown>;
}

export function eventIdFor(key: string): string {
  return `evt_${createHash('sha256').update(key).digest('base64url').slice(0, 24)}`;
}
