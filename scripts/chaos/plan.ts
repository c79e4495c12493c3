/**
 * The seeded plan of a chaos run: a small PRNG, the mix of operation kinds, the fault kinds, the list of
 * planned operations (each with its tenant, its amount and perhaps a fault to inject when it starts) and
 * the one-line summary of that list.
 *
 * A seed means a plan only as long as the plan draws from the PRNG in the same order: per operation its
 * kind, its tenant, its amount, whether it brings a fault, and then which fault. Keep that order.
 */
import { Dec } from '../../src/domain/money.ts';

/** mulberry32: a small seeded PRNG, so that a seed replays the same workload and fault schedule. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One item of a list, chosen with one draw of `random`. */
export type Pick = <T>(items: readonly T[]) => T;

export function picker(random: () => number): Pick {
  return <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
}

export type OpKind = 'credit' | 'recharge' | 'recharge_declined' | 'recharge_transient' | 'refund' | 'checkout' | 'prepay' | 'cancel' | 'token_prepay';
export const MIX: [OpKind, number][] = [
  ['credit', 18],
  ['recharge', 18],
  ['recharge_declined', 8],
  ['recharge_transient', 8],
  ['refund', 12],
  ['checkout', 6],
  ['prepay', 16],
  ['cancel', 8],
  ['token_prepay', 6],
];
export type FaultKind = 'worker' | 'api' | 'postgres' | 'temporal';
export const FAULTS: FaultKind[] = ['worker', 'worker', 'worker', 'api', 'api', 'postgres', 'temporal'];

function drawKind(random: () => number): OpKind {
  let roll = random() * MIX.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [kind, weight] of MIX) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return 'credit';
}

export interface PlannedOp {
  index: number;
  kind: OpKind;
  tenant: number;
  /** whole cents, as a decimal string */
  amount: string;
  /** a fault to inject when this operation starts */
  fault?: FaultKind;
}

export interface PlanOptions {
  ops: number;
  tenants: number;
  /** the chance, per operation, that a fault is injected when it starts */
  faultRate: number;
}

/** The operations of a run, drawn from `random` (a fresh `prng(seed)` for a plan the seed replays). */
export function makePlan(options: PlanOptions, random: () => number): PlannedOp[] {
  const pick = picker(random);
  return Array.from({ length: options.ops }, (_, index) => ({
    index,
    kind: drawKind(random),
    tenant: Math.floor(random() * options.tenants),
    // 0.50 to 90.49: a card charge is at least 0.50
    amount: new Dec(50 + Math.floor(random() * 9000)).dividedBy(100).toFixed(2),
    ...(random() < options.faultRate ? { fault: pick(FAULTS) } : {}),
  }));
}

/** `operations {...}, faults {...}`: how many operations of each kind, and faults of each kind. */
export function planSummary(plan: readonly PlannedOp[]): string {
  const count = <K extends string>(keys: (K | undefined)[]) => keys.reduce<Record<string, number>>((sum, key) => (key ? { ...sum, [key]: (sum[key] ?? 0) + 1 } : sum), {});
  return `operations ${JSON.stringify(count(plan.map((op) => op.kind)))}, faults ${JSON.stringify(count(plan.map((op) => op.fault)))}`;
}
