/**
 * The invariants a chaos run checks once every process is up again: each compares what the engine stored
 * (read from PostgreSQL, the API and the Temporal server) with the model of the definitive answers.
 */
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { Dec } from '../../src/domain/money.ts';
import { call } from './client.ts';
import { operator, type Workload } from './workload.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

/** The checks, in their order of print; `taskQueue` is the run's own, whose running workflows are looked at. */

export async function checkInvariants(run: Workload, databaseUrl: string, temporal: Client, taskQueue: string): Promise<Check[]> {
  const checks: Check[] = [];
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const rows = async <T>(query: string, params: unknown[] = []) => (await db.query(query, params)).rows as T[];
  try {
    checks.push({ name: 'every operation answered as the workload expects', ok: run.unexpected.length === 0, detail: run.unexpected.slice(0, 5).join('\n') });

    const ledger = await operator(run, 'GET', '/operator/v1/ledger/check');
    checks.push({ name: 'ledger check ok', ok: ledger.body?.ok === true, detail: ledger.text.slice(0, 300) });

    const wrongBalances: string[] = [];
    for (const tenant of run.model) {
      const answer = await call(run, 'GET', `/payment/v1/balance?namespace=${tenant.id}`, tenant.key, undefined, { idempotent: false });
      const balance = /"balance":(-?[0-9.]+)/.exec(answer.text)?.[1];
      if (balance === undefined || !new Dec(balance).eq(tenant.balance)) wrongBalances.push(`${tenant.id}: engine ${balance}, model ${tenant.balance.toFixed()}`);
      const tokens = await call(run, 'GET', `/v2alpha/teams/${tenant.id}/balances`, tenant.key, undefined, { idempotent: false });
      const usdt = tokens.body?.balances?.USDT_ERC20;
      if (usdt === undefined || !new Dec(usdt).eq(tenant.usdt)) wrongBalances.push(`${tenant.id}: USDT_ERC20 ${usdt}, model ${tenant.usdt.toFixed()}`);
    }
    checks.push({ name: 'every balance equals the model of the definitive answers', ok: wrongBalances.length === 0, detail: wrongBalances.join('; ') });

    const wrongMovements: string[] = [];
    for (const tenant of run.model) {
      const stored = await rows<{ id: string; status: string }>(`select id, status from money_movements where tenant_id = $1 and currency = 'USD'`, [tenant.id]);
      const byId = new Map(stored.map((row) => [row.id, row.status]));
      for (const movement of tenant.movements) {
        if (byId.get(movement.transId) !== movement.expect) wrongMovements.push(`${movement.transId}: ${byId.get(movement.transId)} (answers imply ${movement.expect})`);
      }
      if (stored.length !== tenant.movements.length) wrongMovements.push(`${tenant.id}: ${stored.length} movements for ${tenant.movements.length} acknowledged operations`);
    }
    checks.push({ name: 'no movement written twice, each in the state its answers imply', ok: wrongMovements.length === 0, detail: wrongMovements.slice(0, 5).join('; ') });

    const doubleRefunds = await rows<{ charge_id: string; n: number }>('select charge_id, count(*)::int as n from sandbox_refunds group by charge_id having count(*) > 1');
    const doubleReversals = await rows<{ reverses_id: string }>(
      'select reverses_id from ledger_transactions where reverses_id is not null group by reverses_id having count(*) > 1',
    );
    checks.push({
      name: 'no refund written twice (gateway and ledger)',
      ok: doubleRefunds.length === 0 && doubleReversals.length === 0,
      detail: JSON.stringify({ doubleRefunds, doubleReversals }),
    });

    // Each reported transfer is credited to its team's token balance by exactly one ledger transaction (its movement).
    const transfers = await rows<{ tx_hash: string; credits: number }>(
      `select t.tx_hash, (select count(*)::int from ledger_transactions l where t.movement_id is not null and l.idempotency_key = 'movement-' || t.movement_id) as credits from chain_transfers t`,
    );
    const notOnceCredited = transfers.filter((row) => row.credits !== 1);
    checks.push({ name: 'every reported transfer credited once', ok: notOnceCredited.length === 0, detail: JSON.stringify(notOnceCredited.slice(0, 5)) });

    const acknowledged = run.model.reduce((sum, tenant) => sum + tenant.prepays.size, 0);
    const [prepayRows] = await rows<{ n: number }>(`select count(*)::int as n from prepays where tenant_id = any($1)`, [run.model.map((tenant) => tenant.id)]);
    checks.push({ name: 'no prepay written twice', ok: prepayRows!.n === acknowledged, detail: `${prepayRows!.n} rows for ${acknowledged} acknowledged prepays` });

    const charged = await rows<{ key: string; n: number }>(
      `select idempotency_key as key, count(*)::int as n from sandbox_charges where outcome = 'succeeded' group by idempotency_key having count(*) > 1`,
    );
    const declinedCharged = await rows<{ id: string }>(
      `select m.id from money_movements m join sandbox_charges c on c.idempotency_key like '%recharge-' || m.id and c.outcome = 'succeeded' where m.status = 'failed'`,
    );
    const recharged = await rows<{ id: string; n: number }>(
      `select m.id, (select count(*)::int from sandbox_charges c where c.idempotency_key like '%recharge-' || m.id and c.outcome = 'succeeded') as n
         from money_movements m where m.payment_method = 'card' and m.status in ('finish', 'refunded')`,
    );
    const notOnce = recharged.filter((row) => row.n !== 1);
    const prepayCharges = await rows<{ prepay: string; n: number }>(
      `select p.id::text as prepay, (select count(*)::int from sandbox_charges c where c.idempotency_key like '%prepay-' || p.id || '-cycle-1' and c.outcome = 'succeeded') as n
         from prepays p where p.tenant_id = any($1) and p.payment_type = 'USD'`,
      [run.model.map((tenant) => tenant.id)],
    );
    const prepaysNotOnce = prepayCharges.filter((row) => row.n !== 1);
    checks.push({
      name: 'at the gateway no key charged twice, every paid movement and prepay charged once, no declined movement charged',
      ok: charged.length === 0 && declinedCharged.length === 0 && notOnce.length === 0 && prepaysNotOnce.length === 0,
      detail: JSON.stringify({ charged, declinedCharged, notOnce: notOnce.slice(0, 5), prepaysNotOnce: prepaysNotOnce.slice(0, 5) }),
    });

    const wrongPrepays: string[] = [];
    for (const tenant of run.model) {
      for (const [prePayId, expected] of tenant.prepays) {
        const answer = await call(run, 'GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`, tenant.key, undefined, { idempotent: false });
        if (answer.body?.status !== expected) wrongPrepays.push(`${prePayId}: ${answer.body?.status} (answers imply ${expected})`);
      }
    }
    checks.push({ name: 'every acknowledged prepay in the state its answers imply', ok: wrongPrepays.length === 0, detail: wrongPrepays.slice(0, 5).join('; ') });

    const struggling: string[] = [];
    for await (const workflow of temporal.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'` })) {
      const described = await temporal.workflow.getHandle(workflow.workflowId, workflow.runId).describe();
      for (const activity of described.raw.pendingActivities ?? []) {
        if ((activity.attempt ?? 1) > 3) struggling.push(`${workflow.workflowId}: ${activity.activityType?.name} attempt ${activity.attempt}`);
      }
    }
    checks.push({ name: 'no workflow with an activity failing past its third attempt', ok: struggling.length === 0, detail: struggling.slice(0, 5).join('; ') });
  } finally {
    await db.end();
  }
  return checks;
}
