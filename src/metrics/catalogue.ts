/**
 * The engine's own metrics, besides the API's request histogram and the Temporal SDK's worker metrics: each
 * name with its type, help text, labels and the process that moves it (decision 0099, docs/operations.md).
 * Counters count events, never amounts: money stays exact, and a float sum of it would be a second,
 * inexact ledger. Every label has a small fixed set of values (a kind, a currency, an outcome, a reason);
 * none carries a tenant, a key, an amount or a raw path.
 */

export const METRICS = {
  card_charges_total: {
    type: 'counter',
    help: 'Card charges sent to the gateway, by outcome: succeeded, declined (the card was refused), failed (gateway unreachable or request refused; Temporal retries the unreachable).',
    labels: ['outcome'],
    process: 'worker',
  },
  card_declines_total: {
    type: 'counter',
    help: "Card charges the gateway declined, by the gateway's decline code.",
    labels: ['decline_code'],
    process: 'worker',
  },
  card_refunds_total: {
    type: 'counter',
    help: 'Card refunds sent to the gateway, by outcome: succeeded or failed.',
    labels: ['outcome'],
    process: 'worker',
  },
  token_transfers_credited_total: {
    type: 'counter',
    help: "Token transfers credited to a team's balance, by token.",
    labels: ['currency'],
    process: 'worker',
  },
  token_transfers_orphaned_total: {
    type: 'counter',
    help: 'Credited or signalled token transfers whose block a reorg deeper than the confirmation depth took (transfer.orphaned events), by token and by what the engine had done with them.',
    labels: ['currency', 'credited_as'],
    process: 'watcher',
  },
  watcher_passes_total: {
    type: 'counter',
    help: 'Scans of the chain the watcher finished.',
    labels: [],
    process: 'watcher',
  },
  watcher_reorgs_total: {
    type: 'counter',
    help: 'Times the chain changed under a cursor or a range during a scan (a reorg): the range is scanned again.',
    labels: [],
    process: 'watcher',
  },
  ledger_transactions_total: {
    type: 'counter',
    help: 'Ledger transactions written (a repeated idempotency key writes none), by kind and by each currency they post in.',
    labels: ['kind', 'currency'],
    process: 'both',
  },
  ledger_credit_batches_total: {
    type: 'counter',
    help: 'Database transactions that wrote new credits together (group commit, decision 0108); ledger_transactions_total{kind="manual_credit"} over it is the mean batch size.',
    labels: [],
    process: 'api',
  },
  auth_failures_total: {
    type: 'counter',
    help: 'Requests refused by authentication or authorisation, by reason: missing_key, invalid_key, wrong_scope, foreign_tenant, watcher_signature.',
    labels: ['reason'],
    process: 'api',
  },
  refunds_requested_total: {
    type: 'counter',
    help: 'Refunds of a money movement started by an operator (POST /payment/v1/amount/{trans_id}/refund), by payment method.',
    labels: ['payment_method'],
    process: 'api',
  },
  ledger_check_ok: {
    type: 'gauge',
    help: 'The outcome of the last GET /operator/v1/ledger/check this API process answered: 1 the books balance, 0 they do not. Absent until the first check.',
    labels: [],
    process: 'api',
  },
} as const;

export type MetricName = keyof typeof METRICS;
export type CounterName = { [N in MetricName]: (typeof METRICS)[N]['type'] extends 'counter' ? N : never }[MetricName];
export type GaugeName = { [N in MetricName]: (typeof METRICS)[N]['type'] extends 'gauge' ? N : never }[MetricName];
/** The labels of a metric: exactly its catalogue's names, each a string. */
export type LabelsOf<N extends MetricName> = { [L in (typeof METRICS)[N]['labels'][number]]: string };
