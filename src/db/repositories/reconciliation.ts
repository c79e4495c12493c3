/**
 * The reads and the flags of the reconciliation (src/activities/reconcile.ts, decision 0080): the rows
 * that should have a running workflow, and the writes that close or repair them. Each write is guarded by
 * the state it repairs (`… where workflow_closed_status is null`, `… and status = 'signalled'`), so a
 * repeated or concurrent run changes nothing twice.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Dec, type Currency, type TokenCurrency } from '../../domain/money.ts';
import type { TokenTransferSignal } from '../../domain/token-transfer.ts';

export interface ReconcilePrepayRow {
  id: string;
  tenant_id: string;
  payment_type: Currency;
  status: string;
  period: number;
  auto_renewal: boolean;
  amount: string;
  usd: string;
  payment_deadline: Date | string | null;
  created_at: Date | string;
  workflow_closed_status: string | null;
  deposit_address: string | null;
  deposit_token: TokenCurrency | null;
  paid_cycles: number;
}

export interface ReconcileTransferRow {
  id: string;
  chain_id: string;
  tx_hash: string;
  log_index: number;
  token: TokenCurrency;
  from_address: string;
  to_address: string;
  amount: string;
  block_number: string;
  block_time: Date | string | null;
  status: string;
  tenant_id: string | null;
  pre_pay_id: string | null;
  movement_id: string | null;
  updated_at: Date | string;
}

const TRANSFER_COLUMNS = `id::text as id, chain_id::text as chain_id, tx_hash, log_index, token, from_address, to_address, amount::text as amount,
  block_number::text as block_number, block_time, status, tenant_id, pre_pay_id::text as pre_pay_id, movement_id, updated_at`;

/** A prepay with its deposit address and how many cycles it paid. */
export async function loadReconcilePrepay(em: EntityManager, prePayId: number): Promise<ReconcilePrepayRow | null> {
  const [row] = await em.execute<ReconcilePrepayRow[]>(
    `select p.id::text as id, p.tenant_id, p.payment_type, p.status, p.period, p.auto_renewal, p.amount::text as amount, p.usd::text as usd,
            p.payment_deadline, p.created_at, p.workflow_closed_status, d.address as deposit_address, d.token as deposit_token,
            (select count(*)::int from prepay_payments pp where pp.prepay_id = p.id) as paid_cycles
       from prepays p left join deposit_addresses d on d.pre_pay_id = p.id where p.id = ?`,
    [prePayId],
  );
  return row ?? null;
}

/** Ids of live prepays (in `statuses`) whose closed workflow is not flagged yet, of one tenant or all. */
export async function livePrepayIds(em: EntityManager, statuses: readonly string[], tenantId: string | null): Promise<number[]> {
  const rows = await em.execute<{ id: string }[]>(
    `select id::text as id from prepays where status in (${statuses.map(() => '?').join(', ')}) and workflow_closed_status is null
        and (?::text is null or tenant_id = ?) order by id`,
    [...statuses, tenantId, tenantId],
  );
  return rows.map((row) => Number(row.id));
}

/** Live subscriptions whose closed workflow is not flagged yet, oldest first. */
export async function liveSubscriptions(em: EntityManager, tenantId: string | null): Promise<{ id: string; workflow_id: string }[]> {
  return em.execute<{ id: string; workflow_id: string }[]>(
    `select id, workflow_id from subscriptions where status <> 'canceled' and workflow_closed_status is null and (?::text is null or tenant_id = ?) order by created_at, id`,
    [tenantId, tenantId],
  );
}

/** Transfers signalled to a prepay before `before` whose credit is not recorded. */
export async function uncreditedSignalledTransfers(em: EntityManager, before: Date, tenantId: string | null): Promise<{ id: string; pre_pay_id: string }[]> {
  return em.execute<{ id: string; pre_pay_id: string }[]>(
    `select id::text as id, pre_pay_id::text as pre_pay_id from chain_transfers
      where status = 'signalled' and movement_id is null and pre_pay_id is not null and updated_at < ? and (?::text is null or tenant_id = ?) order by id`,
    [before, tenantId, tenantId],
  );
}

/** Flags a live prepay whose workflow closed (once). */
export async function flagPrepayWorkflowClosed(em: EntityManager, prePayId: number, closeStatus: string, closedAt: Date, now: Date): Promise<void> {
  await em.execute(`update prepays set workflow_closed_status = ?, workflow_closed_at = ?, updated_at = ? where id = ? and workflow_closed_status is null`, [
    closeStatus,
    closedAt,
    now,
    prePayId,
  ]);
}

/** Closes a prepay that never had a workflow as `payment_failed`, only while it is unpaid and awaiting payment. */
export async function markPrepayAbandoned(em: EntityManager, prePayId: number, failureCode: string, now: Date): Promise<void> {
  await em.execute(
    `update prepays set status = 'payment_failed', failure_code = ?, updated_at = ?
      where id = ? and status = 'awaiting_payment' and not exists (select 1 from prepay_payments pp where pp.prepay_id = prepays.id)`,
    [failureCode, now, prePayId],
  );
}

/** The transfers in the prepay's token already delivered to it (signalled or credited), in order. */
export async function deliveredTransfers(em: EntityManager, prePayId: number, token: TokenCurrency): Promise<ReconcileTransferRow[]> {
  return em.execute<ReconcileTransferRow[]>(
    `select ${TRANSFER_COLUMNS} from chain_transfers where pre_pay_id = ? and token = ? and status in ('signalled', 'credited') order by id`,
    [prePayId, token],
  );
}

export async function loadTransfer(em: EntityManager, transferId: string): Promise<ReconcileTransferRow | null> {
  const [row] = await em.execute<ReconcileTransferRow[]>(`select ${TRANSFER_COLUMNS} from chain_transfers where id = ?`, [transferId]);
  return row ?? null;
}

/** Marks a signalled transfer credited by `movementId` (keeping a movement already recorded). */
export async function markTransferCredited(em: EntityManager, transferId: string, movementId: string, now: Date): Promise<void> {
  await em.execute(`update chain_transfers set status = 'credited', movement_id = coalesce(movement_id, ?), updated_at = ? where id = ? and status = 'signalled'`, [
    movementId,
    now,
    transferId,
  ]);
}

/** The subscription's closed-workflow flag, if any. */
export async function subscriptionClosedFlag(em: EntityManager, subscriptionId: string): Promise<string | null> {
  const [row] = await em.execute<{ workflow_closed_status: string | null }[]>('select workflow_closed_status from subscriptions where id = ?', [subscriptionId]);
  return row?.workflow_closed_status ?? null;
}

/** Flags a live subscription whose workflow closed (once). */
export async function flagSubscriptionWorkflowClosed(em: EntityManager, subscriptionId: string, closeStatus: string, closedAt: Date, now: Date): Promise<void> {
  await em.execute(
    `update subscriptions set workflow_closed_status = ?, workflow_closed_at = ?, updated_at = ? where id = ? and status <> 'canceled' and workflow_closed_status is null`,
    [closeStatus, closedAt, now, subscriptionId],
  );
}

/** The signal a prepay's workflow hears for a transfer row (the same as the watcher sends). */
export function transferSignalOf(row: ReconcileTransferRow): TokenTransferSignal {
  return {
    chainId: Number(row.chain_id),
    txHash: row.tx_hash,
    logIndex: row.log_index,
    token: row.token,
    amount: new Dec(row.amount).toFixed(),
    from: row.from_address,
    to: row.to_address,
    blockNumber: Number(row.block_number),
    // mined before the prepay's deadline, it still counts when the prepay's workflow starts late (decision 0052)
    ...(row.block_time ? { blockTime: new Date(row.block_time).toISOString() } : {}),
  };
}
