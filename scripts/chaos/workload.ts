/**
 * The workload of a chaos run: the model of each tenant (what the definitive answers say happened to its
 * money), the catalog and the tenants made before any fault, `runOp` (what each kind of operation sends and
 * what the model takes from its answer) and the runners that go through the plan concurrently.
 */
import { randomBytes } from 'node:crypto';
import { Dec } from '../../src/domain/money.ts';
import { call, until, watcherReport, type Answer, type Api } from './client.ts';
import type { FaultKind, PlannedOp } from './plan.ts';

/** The chain the watcher's reports name (a local development chain's id). */
export const CHAIN_ID = 31337;

/** A development xpub (BIP39's published test mnemonic, m/44'/60'/0'/0): deposit addresses only, no money. */
export const DEPOSIT_XPUB = 'xpub6EPuWo2Zez8qnWR1a44VViRzRwan7Ct5XaKCz2anC2xSQLCUUvhGEnGYBohKCsocJHEkYQ143QJH8fixW8ixUxrh6bU52qG2tPe1vqCJjiD';

export interface TenantModel {
  id: string;
  key: string;
  cardVisa: string;
  cardDeclined: string;
  cardTransient: string;
  balance: Dec;
  /** finished movements this model may refund: trans_id → amount */
  refundable: Map<string, Dec>;
  movements: { transId: string; expect: 'finish' | 'failed' | 'refunded' }[];
  prepays: Map<number, 'awaiting_binding' | 'active' | 'canceling' | 'canceled' | 'payment_failed'>;
  /** USDT_ERC20 on the team's token balance: transfers credited less what prepays took */
  usdt: Dec;
  subscribed: Set<string>;
}

/** A plan of the catalog that a checkout buys. */
export interface CatalogPlan {
  id: string;
  region: string;
  price: Dec;
}

/** What the workload needs of the run, and what it fills in. */
export interface Workload extends Api {
  operatorKey: string;
  /** one per tenant, in the order of the plan's tenant numbers */
  model: TenantModel[];
  plans: CatalogPlan[];
  clusterId: string;
  /** answers the workload did not expect, and faults that failed: each fails the first invariant */
  unexpected: string[];
}

export const operator = (run: Workload, method: string, path: string, body?: unknown) => call(run, method, path, run.operatorKey, body);

function expectOne(run: Workload, op: PlannedOp, answer: Answer, allowed: number[]): boolean {
  if (allowed.includes(answer.status)) return true;
  run.unexpected.push(`op ${op.index} ${op.kind}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
  return false;
}

/** The catalog (a cluster, a token rate, two plans), the watcher's API key and the tenants with their cards, before any fault. */
export async function prepare(run: Workload, seed: number, tenants: number): Promise<void> {
  run.clusterId = `chaos-cluster-${randomBytes(3).toString('hex')}`;
  await operator(run, 'PUT', `/operator/v1/clusters/${run.clusterId}`, { cpu_core_month_usd: '10', memory_gib_month_usd: '0', storage_gib_month_usd: '0' });
  await operator(run, 'PUT', '/operator/v1/rates/USDT_ERC20', { usd: '1' });
  run.watcher.key = (await operator(run, 'POST', '/operator/v1/api_keys', { scope: 'watcher' })).body.api_key as string;
  const region = `chaos-region-${randomBytes(3).toString('hex')}`;
  await operator(run, 'PUT', `/operator/v1/regions/${region}`, { region_describe: 'chaos' });
  for (const price of ['12.5', '40']) {
    const created = await operator(run, 'POST', '/operator/v1/plans', {
      region,
      type: 'C',
      level: 'S',
      name: `Chaos ${price}`,
      bill_period: 'M',
      description: 'chaos',
      status: 'available',
      price: Number(price),
    });
    run.plans.push({ id: created.body.plan_id, region, price: new Dec(price) });
  }
  for (let index = 0; index < tenants; index += 1) {
    const id = `chaos-${seed}-${index}-${randomBytes(3).toString('hex')}`;
    await operator(run, 'POST', '/operator/v1/tenants', { tenant_id: id });
    const key = (await operator(run, 'POST', `/operator/v1/tenants/${id}/api_keys`, {})).body.api_key as string;
    const card = async (token: string) => (await call(run, 'POST', `/v2alpha/teams/${id}/cards`, key, { token })).body.card_id as string;
    run.model.push({
      id,
      key,
      cardVisa: await card('tok_visa'),
      cardDeclined: await card('tok_chargeDeclined'),
      cardTransient: await card('tok_transientFailure'),
      balance: new Dec(0),
      refundable: new Map(),
      movements: [],
      prepays: new Map(),
      subscribed: new Set(),
      usdt: new Dec(0),
    });
  }
}

/**
 * `concurrency` runners take the plan's operations in order, each injecting its operation's fault (without
 * waiting for it) before running it; `progress` hears of every hundredth operation done.
 */
export async function runWorkload(
  run: Workload,
  plan: readonly PlannedOp[],
  concurrency: number,
  inject: (fault: FaultKind) => void,
  progress: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const runner = async () => {
    for (;;) {
      const op = plan[next];
      if (!op) return;
      next += 1;
      if (op.fault) inject(op.fault);
      await runOp(run, op).catch((error: unknown) => {
        run.unexpected.push(`op ${op.index} ${op.kind}: ${(error as Error).message}`);
      });
      done += 1;
      if (done % 100 === 0) progress(done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, runner));
}

/** One operation: its requests, and what the model takes from their definitive answers. */

export async function runOp(run: Workload, op: PlannedOp): Promise<void> {
  const tenant = run.model[op.tenant]!;
  const amount = new Dec(op.amount);
  switch (op.kind) {
    case 'credit': {
      const answer = await operator(run, 'POST', '/payment/v1/recharge', { amount: Number(op.amount), namespace: tenant.id, payment_method: 'manual' });
      if (!expectOne(run, op, answer, [200])) return;
      tenant.balance = tenant.balance.plus(amount);
      tenant.refundable.set(answer.body.trans_id, amount);
      tenant.movements.push({ transId: answer.body.trans_id, expect: 'finish' });
      return;
    }
    case 'recharge':
    case 'recharge_transient':
    case 'recharge_declined': {
      const card = op.kind === 'recharge' ? tenant.cardVisa : op.kind === 'recharge_declined' ? tenant.cardDeclined : tenant.cardTransient;
      const answer = await call(run, 'POST', '/payment/v1/recharge', tenant.key, { amount: Number(op.amount), namespace: tenant.id, card_id: card });
      if (op.kind === 'recharge_declined') {
        if (!expectOne(run, op, answer, [402])) return;
        tenant.movements.push({ transId: answer.body.trans_id, expect: 'failed' });
        return;
      }
      if (!expectOne(run, op, answer, [200])) return;
      tenant.balance = tenant.balance.plus(amount);
      tenant.refundable.set(answer.body.trans_id, amount);
      tenant.movements.push({ transId: answer.body.trans_id, expect: 'finish' });
      return;
    }
    case 'refund': {
      const candidates = [...tenant.refundable.keys()];
      if (candidates.length === 0) return;
      const transId = run.pick(candidates);
      const refunded = tenant.refundable.get(transId)!;
      tenant.refundable.delete(transId);
      const answer = await operator(run, 'POST', `/payment/v1/amount/${transId}/refund`, { reason: `chaos op ${op.index}` });
      if (answer.status === 200) {
        tenant.balance = tenant.balance.minus(refunded);
        tenant.movements.find((movement) => movement.transId === transId)!.expect = 'refunded';
        return;
      }
      // The balance no longer covers it (spent on a checkout): refused, nothing changed.
      if (!(answer.status === 402 || answer.status === 409) || answer.body?.error?.type !== 'insufficient_balance') expectOne(run, op, answer, []);
      return;
    }
    case 'checkout': {
      const plan = run.pick(run.plans);
      const answer = await call(run, 'POST', '/payment/v1/checkout', tenant.key, { plan_id: plan.id, namespace: tenant.id, region: plan.region });
      if (answer.status === 200) {
        tenant.balance = tenant.balance.minus(plan.price);
        tenant.subscribed.add(plan.id);
        // the first period's charge from the balance is a movement of its own
        tenant.movements.push({ transId: answer.body.trans_id, expect: 'finish' });
        return;
      }
      const type = answer.body?.error?.type;
      if (type === 'insufficient_balance' || (type === 'conflict' && tenant.subscribed.has(plan.id))) return;
      expectOne(run, op, answer, []);
      return;
    }
    case 'prepay': {
      // at least the price of one CPU for three months at the cluster's 10 USD per CPU-month
      const whole = amount.plus(30).toFixed(2);
      const created = await call(run, 'POST', `/v2alpha/teams/${tenant.id}/cards/${tenant.cardVisa}`, tenant.key, {
        team_id: tenant.id,
        card_id: tenant.cardVisa,
        amount: whole,
        period: 3,
        auto_renewal: 1,
      });
      if (!expectOne(run, op, created, [200])) return;
      const prePayId = created.body.pre_pay_id as number;
      tenant.prepays.set(prePayId, 'awaiting_binding');
      const app = {
        app_id: `app-${op.index}`,
        pre_pay_id: prePayId,
        cluster_id: run.clusterId,
        chart_name: 'nginx',
        cpu_limit: 1000,
        mem_limit: 0,
        storage_limit: 0,
        icon_url: '',
        project_name: 'chaos',
      };
      const bound = await call(run, 'POST', '/v2alpha/USD/callback_app_info', tenant.key, app, { idempotent: false });
      if (!expectOne(run, op, bound, [200]) || bound.body?.message !== 'success') return;
      tenant.prepays.set(prePayId, 'active');
      return;
    }
    case 'token_prepay': {
      // quote, open the prepay, then the watcher reports one transfer of exactly the amount to its deposit address
      const body = { cluster_id: run.clusterId, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 };
      const quote = await call(run, 'POST', '/v2alpha/USDT_ERC20/acquire_pre_amount', tenant.key, body, { idempotent: false });
      if (!expectOne(run, op, quote, [200])) return;
      const created = await call(run, 'POST', `/v2alpha/teams/${tenant.id}/tokens/USDT_ERC20`, tenant.key, {
        quote_id: quote.body.quote_id,
        amount: quote.body.amount,
        period: 1,
        auto_renewal: 0,
      });
      if (!expectOne(run, op, created, [200])) return;
      const prePayId = created.body.pre_pay_id as number;
      tenant.prepays.set(prePayId, 'awaiting_binding');
      const transfer = {
        chain_id: CHAIN_ID,
        token: 'USDT_ERC20',
        tx_hash: `0x${randomBytes(32).toString('hex')}`,
        log_index: 0,
        block_number: 19_000_000 + op.index,
        block_hash: `0x${randomBytes(32).toString('hex')}`,
        from: `0x${randomBytes(20).toString('hex')}`,
        to: String(created.body.deposit_address).toLowerCase(),
        amount: created.body.token_amount,
        confirmations: 12,
      };
      const reported = await watcherReport(run, transfer);
      if (!expectOne(run, op, reported, [200])) return;
      // credited to the token balance, then taken by the prepay: the balance nets to zero, the prepay is paid
      const paid = await until(
        run,
        () => call(run, 'GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`, tenant.key, undefined, { idempotent: false }),
        (answer) => answer.body?.status !== 'awaiting_payment',
      );
      if (paid.body?.status !== 'awaiting_binding') run.unexpected.push(`op ${op.index} token_prepay: prepay ${prePayId} is ${paid.body?.status} after its full payment`);
      return;
    }
    case 'cancel': {
      const active = [...tenant.prepays.entries()].filter(([, status]) => status === 'active').map(([id]) => id);
      if (active.length === 0) return;
      const prePayId = run.pick(active);
      // taken, so that no concurrent operation of the workload cancels it too (that one would rightly get 409)
      tenant.prepays.set(prePayId, 'canceling');
      const answer = await operator(run, 'POST', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/cancel`, { reason: `chaos op ${op.index}` });
      if (!expectOne(run, op, answer, [200])) {
        tenant.prepays.set(prePayId, 'active');
        return;
      }
      tenant.prepays.set(prePayId, 'canceled');
      return;
    }
  }
}
