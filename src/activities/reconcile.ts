/**
 * The reconciliation's reads and repairs (decision 0080), run by ReconcileWorkflow. Each repair re-reads
 * its row and describes the workflow it concerns before it acts, acts through the same idempotent paths
 * as the API and the watcher (the same workflow ids and reuse policies, the same credit workflow), and
 * records a `reconcile.*` event keyed by the row and the repair, so a repeated or concurrent run repeats
 * nothing. The Temporal client and task queue are the worker's (`Context.current()`).
 */
import { WORKFLOW_TYPES } from '../temporal/workflow-types.ts';
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { getAddress } from 'viem';
import { transferMovementId } from '../chain/identity.ts';
import type { Orm } from '../db/orm.ts';
import {
  deliveredTransfers,
  flagPrepayWorkflowClosed,
  flagSubscriptionWorkflowClosed,
  livePrepayIds,
  liveSubscriptions,
  loadReconcilePrepay,
  loadTransfer,
  markPrepayAbandoned,
  markTransferCredited,
  subscriptionClosedFlag,
  uncreditedSignalledTransfers,
  type ReconcilePrepayRow,
  transferSignalOf,
} from '../db/repositories/reconciliation.ts';
import { findSubscription } from '../db/repositories/subscriptions.ts';
import type { Clock } from '../domain/clock.ts';
import { Dec, type TokenCurrency } from '../domain/money.ts';
import { prepayWorkflowId } from '../domain/prepay.ts';
import { startAbandonedPrepay, startTokenPrepay } from '../temporal/prepays.ts';
import { installationOf } from '../db/repositories/installation.ts';
import { ensureSubscriptionWorkflow } from '../temporal/subscriptions.ts';
import { signalTokenTransfer, startCreditTransfer } from '../temporal/transfers.ts';
import { createEventActivities, type EventType } from './events.ts';
import type { ReconcileCandidates, ReconcileInput, RepairOutcome } from './reconcile-contract.ts';
import { describe, runningWorkflowIds } from './workflow-descriptions.ts';
import { toDate } from '../db/rows.ts';

const DEFAULT_GRACE_SECONDS = 600;
const DEFAULT_LIMIT = 200;
const LIVE_PREPAY_STATUSES = ['awaiting_payment', 'awaiting_binding', 'active', 'renewing', 'past_due'];
const ABANDONED = 'abandoned' as const;
/** Tenant ids are identifiers; anything else is not put into a visibility query. */
const SAFE_TENANT = /^[A-Za-z0-9_.:-]{1,128}$/;

export function createReconcileActivities(deps: { orm: Orm; clock: Clock }) {
  const { recordEvent } = createEventActivities(deps);
  /** this database's installation: workflow ids are scoped by it (decision 0090) */
  const own = () => installationOf(deps.orm);
  const graceCutoff = (input: ReconcileInput): Date => new Date(deps.clock.now().getTime() - (input.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000);
  const event = async (key: string, tenantId: string | null, type: EventType, data: Record<string, unknown>): Promise<string> =>
    (await recordEvent({ key: `reconcile-${key}`, tenantId, type, data })).eventId;

  async function loadPrepay(prePayId: number): Promise<ReconcilePrepayRow | null> {
    return loadReconcilePrepay(deps.orm.em.fork(), prePayId);
  }

  /**
   * Records that the workflow of a live row closed: the event first, then the flag (a crash in between
   * leaves the row unflagged, and the next run records the same event again, which is a no-op).
   */
  async function flagPrepay(row: ReconcilePrepayRow, closeStatus: string, closedAt: Date | undefined): Promise<RepairOutcome> {
    const prePayId = Number(row.id);
    const item = `prepay-${prePayId}`;
    const workflowId = prepayWorkflowId(await own(), prePayId);
    const now = deps.clock.now();
    const eventId = await event(`${item}-workflow-closed`, row.tenant_id, 'reconcile.workflow_closed', {
      pre_pay_id: prePayId,
      workflow_id: workflowId,
      close_status: closeStatus,
      row_status: row.status,
      closed_at: (closedAt ?? now).toISOString(),
    });
    await flagPrepayWorkflowClosed(deps.orm.em.fork(), prePayId, closeStatus, closedAt ?? now, now);
    return { action: 'workflow_closed', item, workflowId, closeStatus, eventId };
  }

  /**
   * Closes a prepay that never had a workflow: first the id is taken by the tombstone workflow, so nothing
   * can start (and charge) it afterwards, then the row says `payment_failed` / `abandoned`.
   */
  async function abandonPrepay(client: Client, taskQueue: string, row: ReconcilePrepayRow): Promise<RepairOutcome> {
    const prePayId = Number(row.id);
    const workflowId = prepayWorkflowId(await own(), prePayId);
    const item = `prepay-${prePayId}`;
    try {
      await startAbandonedPrepay(client, await own(), taskQueue, { prePayId, tenantId: row.tenant_id, reason: ABANDONED, paymentType: row.payment_type });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      // Someone took the id first: the API's late start (then this prepay is alive), or our own earlier attempt.
      const now = await describe(client, workflowId);
      if (!now.found || now.type !== WORKFLOW_TYPES.abandonedPrepay) return { action: 'none', item, workflowId, detail: 'its workflow started meanwhile' };
    }
    return finishAbandon(row);
  }

  async function finishAbandon(row: ReconcilePrepayRow): Promise<RepairOutcome> {
    const prePayId = Number(row.id);
    // The event first: a crash before the row is written leaves it awaiting_payment, and the next run finishes.
    const eventId = await event(`prepay-${prePayId}-abandoned`, row.tenant_id, 'reconcile.prepay_abandoned', {
      pre_pay_id: prePayId,
      payment_type: row.payment_type,
      status: 'payment_failed',
      failure_code: ABANDONED,
      reason: row.payment_type === 'USD' ? 'workflow_never_started' : 'deposit_address_never_issued',
      created_at: toDate(row.created_at).toISOString(),
    });
    await markPrepayAbandoned(deps.orm.em.fork(), prePayId, ABANDONED, deps.clock.now());
    return { action: 'prepay_abandoned', item: `prepay-${prePayId}`, workflowId: prepayWorkflowId(await own(), prePayId), eventId };
  }

  /**
   * Starts a token prepay's workflow from its row, then hands it every transfer already delivered to its
   * deposit address (each was credited to the team's balance while the workflow did not run; crediting
   * is idempotent by the transfer, so the workflow only counts them toward the payment, before the deadline).
   */
  async function startTokenPrepayOf(client: Client, taskQueue: string, row: ReconcilePrepayRow, input: ReconcileInput): Promise<RepairOutcome> {
    const prePayId = Number(row.id);
    const installation = await own();
    const workflowId = prepayWorkflowId(installation, prePayId);
    const token = row.payment_type as TokenCurrency;
    const deadline = row.payment_deadline === null ? deps.clock.now() : toDate(row.payment_deadline);
    try {
      await startTokenPrepay(client, installation, taskQueue, {
        prePayId,
        tenantId: row.tenant_id,
        paymentType: token,
        cardId: null,
        period: row.period,
        autoRenewal: row.auto_renewal,
        amount: new Dec(row.amount).toFixed(),
        usd: new Dec(row.usd).toFixed(),
        tokenPayment: { depositAddress: getAddress(row.deposit_address!), deadline: deadline.toISOString() },
        timings: input.prepayTimings ?? {},
      });
    } catch (error) {
      // Closed already (it ran meanwhile and ended): nothing to start.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return { action: 'none', item: `prepay-${prePayId}`, workflowId, detail: 'its workflow ran meanwhile' };
    }
    const earlier = await deliveredTransfers(deps.orm.em.fork(), prePayId, token);
    for (const transfer of earlier) await signalTokenTransfer(client, installation, prePayId, transferSignalOf(transfer));
    const eventId = await event(`prepay-${prePayId}-started`, row.tenant_id, 'reconcile.prepay_started', {
      pre_pay_id: prePayId,
      payment_type: token,
      workflow_id: workflowId,
      deposit_address: row.deposit_address,
      payment_deadline: deadline.toISOString(),
      transfers_resent: earlier.length,
      created_at: toDate(row.created_at).toISOString(),
    });
    return { action: 'prepay_started', item: `prepay-${prePayId}`, workflowId, eventId };
  }

  return {
    /** Rows that may need a repair: live rows whose workflow visibility does not list as running, and stale signalled transfers. */
    async findReconcileCandidates(input: ReconcileInput): Promise<ReconcileCandidates> {
      const client = Context.current().client;
      const limit = input.limit ?? DEFAULT_LIMIT;
      const tenantId = input.tenantId ?? null;
      if (tenantId !== null && !SAFE_TENANT.test(tenantId)) throw new Error(`tenantId ${JSON.stringify(tenantId)} is not an identifier`);
      const em = deps.orm.em.fork();

      const runningPrepays = await runningWorkflowIds(
        client,
        `WorkflowType = '${WORKFLOW_TYPES.prepay}' AND ExecutionStatus = 'Running'${tenantId ? ` AND TeamId = '${tenantId}'` : ''}`,
      );
      const prepayIds = await livePrepayIds(em, LIVE_PREPAY_STATUSES, tenantId);
      const installation = await own();
      const prepays = prepayIds.filter((id) => !runningPrepays.has(prepayWorkflowId(installation, id))).slice(0, limit);

      const runningSubscriptions = await runningWorkflowIds(
        client,
        `WorkflowType = '${WORKFLOW_TYPES.subscription}' AND ExecutionStatus = 'Running'${tenantId ? ` AND TenantId = '${tenantId}'` : ''}`,
      );
      const subscriptionRows = await liveSubscriptions(em, tenantId);
      const subscriptions = subscriptionRows
        .filter((row) => !runningSubscriptions.has(row.workflow_id))
        .map((row) => row.id)
        .slice(0, limit);

      const transferRows = await uncreditedSignalledTransfers(em, graceCutoff(input), tenantId);
      const transfers = transferRows
        .filter((row) => !runningPrepays.has(prepayWorkflowId(installation, Number(row.pre_pay_id))))
        .map((row) => row.id)
        .slice(0, limit);
      return { prepays, subscriptions, transfers };
    },

    /** One live prepay: abandon or start it when it never had a workflow, flag it when its workflow closed. */
    async reconcilePrepay(input: ReconcileInput & { prePayId: number }): Promise<RepairOutcome> {
      const { client, info } = Context.current();
      const item = `prepay-${input.prePayId}`;
      const row = await loadPrepay(input.prePayId);
      if (!row || !LIVE_PREPAY_STATUSES.includes(row.status)) return { action: 'none', item, detail: 'not live' };
      const workflowId = prepayWorkflowId(await own(), input.prePayId);
      const workflow = await describe(client, workflowId);
      if (workflow.found && workflow.running) return { action: 'none', item, workflowId, detail: 'running' };
      if (workflow.found) {
        // Our own tombstone from an attempt that stopped before the row was written: finish it.
        if (workflow.type === WORKFLOW_TYPES.abandonedPrepay && row.status === 'awaiting_payment') return finishAbandon(row);
        if (row.workflow_closed_status !== null) return { action: 'none', item, workflowId, detail: 'already flagged' };
        return flagPrepay(row, workflow.status, workflow.closeTime);
      }
      // No workflow. A paid, bound or renewing prepay had one: it is gone (retention), the row can only be flagged.
      if (row.status !== 'awaiting_payment' || row.paid_cycles > 0)
        return row.workflow_closed_status === null ? flagPrepay(row, 'NOT_FOUND', undefined) : { action: 'none', item, detail: 'already flagged' };
      if (toDate(row.created_at) > graceCutoff(input)) return { action: 'none', item, detail: 'within the grace period' };
      // Never started. A card is never charged behind the customer's back; a token prepay whose deposit
      // address was handed out may receive money, so its workflow must run; one without an address cannot.
      if (row.payment_type !== 'USD' && row.deposit_address !== null && row.deposit_token === row.payment_type) return startTokenPrepayOf(client, info.taskQueue, row, input);
      return abandonPrepay(client, info.taskQueue, row);
    },

    /** One live subscription: start its workflow when none runs for it, flag it when its own workflow closed. */
    async reconcileSubscription(input: ReconcileInput & { subscriptionId: string }): Promise<RepairOutcome> {
      const { client, info } = Context.current();
      const item = `subscription-${input.subscriptionId}`;
      const em = deps.orm.em.fork();
      const subscription = await findSubscription(em, input.subscriptionId);
      if (!subscription || subscription.status === 'canceled') return { action: 'none', item, detail: 'not live' };
      const closedFlag = await subscriptionClosedFlag(em, subscription.id);
      const workflowId = subscription.workflowId;
      const workflow = await describe(client, workflowId);
      const ours = workflow.found && workflow.memo?.subscriptionId === subscription.id;
      if (workflow.found && workflow.running) return { action: 'none', item, workflowId, detail: ours ? 'running' : 'an earlier subscription of the plan is still closing' };
      if (workflow.found && ours) {
        if (closedFlag) return { action: 'none', item, workflowId, detail: 'already flagged' };
        const now = deps.clock.now();
        const eventId = await event(`${item}-workflow-closed`, subscription.tenantId, 'reconcile.workflow_closed', {
          subscription_id: subscription.id,
          plan_id: subscription.planId,
          workflow_id: workflowId,
          close_status: workflow.status,
          row_status: subscription.status,
          closed_at: (workflow.closeTime ?? now).toISOString(),
        });
        await flagSubscriptionWorkflowClosed(em, subscription.id, workflow.status, workflow.closeTime ?? now, now);
        return { action: 'workflow_closed', item, workflowId, closeStatus: workflow.status, eventId };
      }
      // No workflow for this subscription ever ran (none, or only an earlier subscription's, closed).
      if (subscription.createdAt > graceCutoff(input)) return { action: 'none', item, workflowId, detail: 'within the grace period' };
      await ensureSubscriptionWorkflow(client, await own(), info.taskQueue, subscription);
      const eventId = await event(`${item}-started`, subscription.tenantId, 'reconcile.subscription_started', {
        subscription_id: subscription.id,
        plan_id: subscription.planId,
        workflow_id: workflowId,
        status: subscription.status,
        period: subscription.period,
        created_at: subscription.createdAt.toISOString(),
      });
      return { action: 'subscription_started', item, workflowId, eventId };
    },

    /** One transfer signalled to a prepay workflow that is no longer running and never credited it: credit it to the team's balance. */
    async reconcileTransfer(input: ReconcileInput & { transferId: string }): Promise<RepairOutcome> {
      const { client, info } = Context.current();
      const item = `chain-transfer-${input.transferId}`;
      const em = deps.orm.em.fork();
      const row = await loadTransfer(em, input.transferId);
      if (!row || row.status !== 'signalled' || row.movement_id !== null || row.pre_pay_id === null || row.tenant_id === null)
        return { action: 'none', item, detail: 'not a signalled, uncredited transfer' };
      if (toDate(row.updated_at) > graceCutoff(input)) return { action: 'none', item, detail: 'within the grace period' };
      const installation = await own();
      const prepay = await describe(client, prepayWorkflowId(installation, Number(row.pre_pay_id)));
      if (prepay.found && prepay.running)
        return { action: 'none', item, workflowId: prepayWorkflowId(installation, Number(row.pre_pay_id)), detail: 'the prepay still runs and credits it' };
      const transfer = transferSignalOf(row);
      const workflowId = await startCreditTransfer(client, installation, info.taskQueue, {
        transfer,
        tenantId: row.tenant_id,
        prePayId: Number(row.pre_pay_id),
        reason: 'no_open_prepay',
      });
      const movementId = transferMovementId(transfer);
      const eventId = await event(`${item}-credited`, row.tenant_id, 'reconcile.transfer_credited', {
        pre_pay_id: Number(row.pre_pay_id),
        prepay_workflow: prepay.found ? prepay.status : 'NOT_FOUND',
        workflow_id: workflowId,
        trans_id: movementId,
        chain_id: transfer.chainId,
        tx_hash: transfer.txHash,
        log_index: transfer.logIndex,
        token: transfer.token,
        amount: transfer.amount,
      });
      await markTransferCredited(em, row.id, movementId, deps.clock.now());
      return { action: 'transfer_credited', item, workflowId, eventId };
    },
  };
}
