/**
 * The sandbox card gateway: deterministic test cards (DESIGN §11) whose charges and refunds are rows in
 * PostgreSQL, so that every process (API replicas, workers) sees one gateway, a restart forgets nothing,
 * and tests can count how many times a card was charged.
 *
 * It keeps a real gateway's idempotency contract: the idempotency key is the identity of a charge. A
 * repeated key with the same parameters replays the first final outcome (the same chargeId, or the same
 * decline) without charging again; with other parameters it is an error. A simulated outage is not
 * final: the next attempt with that key is tried afresh.
 */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import { Dec, toFixedString, toMinorUnits } from '../domain/money.ts';
import { CardDeclinedError, GatewayRequestRefusedError, GatewayUnavailableError, InvalidCardTokenError, MINIMUM_CARD_CHARGE_USD } from './card-gateway.ts';
import type { CardGateway, ChargeRequest, ChargeResult, RefundRequest, RefundResult, TokenisedCard } from './card-gateway.ts';

type Decision = { outcome: 'succeeded' } | { outcome: 'declined'; declineCode: DeclineCode } | { outcome: 'unavailable' };

interface SandboxCard {
  brand: string;
  last4: string;
  /** what the gateway answers to the `attempt`-th charge (1-based) made with one idempotency key */
  decide: (attempt: number, offSession: boolean) => Decision;
  /** the gateway refuses every charge of this card for good, with this code (nothing is recorded) */
  refuse?: string;
}

const DECLINE_MESSAGES = {
  generic_decline: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  expired_card: 'Your card has expired.',
  authentication_required: 'Your card was declined: this transaction requires authentication.',
} as const;
type DeclineCode = keyof typeof DECLINE_MESSAGES;

const succeed = (): Decision => ({ outcome: 'succeeded' });
const decline = (declineCode: DeclineCode) => (): Decision => ({ outcome: 'declined', declineCode });

/** How many attempts with one idempotency key `tok_transientFailure` fails before it succeeds. */
export const TRANSIENT_FAILURES = 2;

/** The sandbox test tokens (last4 as Stripe's test cards of the same behaviour). */
export const SANDBOX_CARDS: Readonly<Record<string, SandboxCard>> = {
  tok_visa: { brand: 'visa', last4: '4242', decide: succeed },
  tok_mastercard: { brand: 'mastercard', last4: '4444', decide: succeed },
  tok_chargeDeclined: { brand: 'visa', last4: '0002', decide: decline('generic_decline') },
  tok_chargeDeclinedInsufficientFunds: { brand: 'visa', last4: '9995', decide: decline('insufficient_funds') },
  tok_chargeDeclinedExpiredCard: { brand: 'visa', last4: '0069', decide: decline('expired_card') },
  tok_authenticationRequired: {
    brand: 'visa',
    last4: '3184',
    decide: (_attempt, offSession) => (offSession ? decline('authentication_required')() : succeed()),
  },
  tok_transientFailure: {
    brand: 'visa',
    last4: '0119',
    decide: (attempt) => (attempt <= TRANSIENT_FAILURES ? { outcome: 'unavailable' } : succeed()),
  },
  /** a card detached from its customer after it was registered: the gateway answers "no such payment method" */
  tok_detached: { brand: 'visa', last4: '0341', decide: succeed, refuse: 'resource_missing' },
};

interface ChargeRow {
  idempotency_key: string;
  card_ref: string;
  amount: string;
  currency: string;
  off_session: boolean;
  attempts: number;
  outcome: Decision['outcome'];
  charge_id: string | null;
  decline_code: string | null;
}

const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

export function createSandboxGateway(deps: { orm: Orm; clock?: Clock }): CardGateway {
  const em = () => deps.orm.em.fork();

  return {
    name: 'sandbox',

    async tokenise(token: string, tenantId: string): Promise<TokenisedCard> {
      const card = sandboxCard(token);
      const gatewayRef = newId('card_sbx');
      await em().execute('insert into sandbox_cards (ref, token, tenant_id) values (?, ?, ?)', [gatewayRef, token, tenantId], 'run');
      const now = deps.clock?.now() ?? new Date();
      return { gatewayRef, brand: card.brand, last4: card.last4, expMonth: 12, expYear: now.getUTCFullYear() + 5 };
    },

    async charge(request: ChargeRequest): Promise<ChargeResult> {
      const amount = validAmount(request.amount, 'charge');
      if (request.amount.lt(MINIMUM_CARD_CHARGE_USD)) {
        throw new GatewayRequestRefusedError('amount_too_small', `Amount must be at least ${MINIMUM_CARD_CHARGE_USD} USD.`);
      }
      if (request.currency !== 'USD') throw new Error(`The sandbox gateway charges USD only, not ${String(request.currency)}.`);
      const [cardRow] = await em().execute<{ token: string }[]>('select token from sandbox_cards where ref = ?', [request.cardRef]);
      if (!cardRow) throw new InvalidCardTokenError(`No sandbox card has the reference ${request.cardRef}.`);
      const card = sandboxCard(cardRow.token);
      if (card.refuse) throw new GatewayRequestRefusedError(card.refuse, `The gateway has no usable card ${request.cardRef} (${card.refuse}).`);

      const row = await em().transactional((tx) => attemptCharge(tx, request, amount, card));
      return settle(row);
    },

    async refund(request: RefundRequest): Promise<RefundResult> {
      const amount = validAmount(request.amount, 'refund');
      const refundId = await em().transactional((tx) => recordRefund(tx, request, amount));
      return { refundId };
    },
  };
}

function sandboxCard(token: string): SandboxCard {
  const card = Object.hasOwn(SANDBOX_CARDS, token) ? SANDBOX_CARDS[token] : undefined;
  if (!card) throw new InvalidCardTokenError(`Unknown sandbox card token ${JSON.stringify(token)}; use one of ${Object.keys(SANDBOX_CARDS).join(', ')}.`);
  return card;
}

/** A positive USD amount in whole cents, as the NUMERIC(20, 2) text the tables hold. */
function validAmount(amount: Dec, what: 'charge' | 'refund'): string {
  if (!amount.isFinite() || amount.lte(0)) throw new RangeError(`A ${what} amount must be a positive decimal.`);
  toMinorUnits(amount, 'USD'); // throws when the amount has fractions of a cent
  return toFixedString(amount, 2);
}

/**
 * One attempt of a charge, in one database transaction: the first attempt inserts the key's row; later
 * ones lock it (concurrent attempts with one key queue here), replay a final outcome, or try again
 * after an outage.
 */
async function attemptCharge(tx: EntityManager, request: ChargeRequest, amount: string, card: SandboxCard): Promise<ChargeRow> {
  const first = card.decide(1, request.offSession);
  const [inserted] = await tx.execute<ChargeRow[]>(
    `insert into sandbox_charges (idempotency_key, card_ref, amount, currency, off_session, attempts, outcome, charge_id, decline_code)
     values (?, ?, ?, ?, ?, 1, ?, ?, ?)
     on conflict (idempotency_key) do nothing
     returning *`,
    [request.idempotencyKey, request.cardRef, amount, request.currency, request.offSession, first.outcome, ...decisionColumns(first)],
  );
  if (inserted) return inserted;

  const [existing] = await tx.execute<ChargeRow[]>('select * from sandbox_charges where idempotency_key = ? for update', [request.idempotencyKey]);
  if (!existing) throw new Error(`The sandbox charge ${request.idempotencyKey} vanished while it was being charged.`);
  assertSameCharge(existing, request, amount);
  if (existing.outcome !== 'unavailable') return existing;

  const attempt = existing.attempts + 1;
  const next = card.decide(attempt, request.offSession);
  const [updated] = await tx.execute<ChargeRow[]>(
    `update sandbox_charges set attempts = ?, outcome = ?, charge_id = ?, decline_code = ?, updated_at = now()
     where idempotency_key = ? returning *`,
    [attempt, next.outcome, ...decisionColumns(next), request.idempotencyKey],
  );
  return updated!;
}

function decisionColumns(decision: Decision): [chargeId: string | null, declineCode: string | null] {
  if (decision.outcome === 'succeeded') return [newId('ch_sbx'), null];
  if (decision.outcome === 'declined') return [null, decision.declineCode];
  return [null, null];
}

function assertSameCharge(row: ChargeRow, request: ChargeRequest, amount: string): void {
  const differences = [
    row.card_ref !== request.cardRef && 'card',
    !new Dec(row.amount).eq(new Dec(amount)) && 'amount',
    row.currency !== request.currency && 'currency',
    row.off_session !== request.offSession && 'offSession',
  ].filter(Boolean);
  if (differences.length > 0) {
    throw new GatewayRequestRefusedError(
      'idempotency_key_reused',
      `Idempotency key ${JSON.stringify(request.idempotencyKey)} was already used for another charge ` +
        `(different ${differences.join(', ')}); a key names one charge and cannot be reused with other parameters.`,
    );
  }
}

function settle(row: ChargeRow): ChargeResult {
  if (row.outcome === 'succeeded') return { chargeId: row.charge_id!, amount: new Dec(row.amount) };
  if (row.outcome === 'declined') {
    const code = row.decline_code!;
    throw new CardDeclinedError(code, DECLINE_MESSAGES[code as DeclineCode] ?? 'Your card was declined.');
  }
  throw new GatewayUnavailableError(`The sandbox gateway is unavailable (simulated outage, attempt ${row.attempts} of charge ${row.idempotency_key}).`);
}

/** Records a refund once per key; the charge row's lock serialises refunds of one charge, so their sum stays bounded. */
async function recordRefund(tx: EntityManager, request: RefundRequest, amount: string): Promise<string> {
  const [charge] = await tx.execute<{ amount: string }[]>('select amount from sandbox_charges where charge_id = ? for update', [request.chargeId]);
  if (!charge) throw new GatewayRequestRefusedError('resource_missing', `No sandbox charge has the id ${request.chargeId}.`);

  const [earlier] = await tx.execute<{ charge_id: string; refund_id: string; amount: string }[]>(
    'select charge_id, refund_id, amount from sandbox_refunds where idempotency_key = ?',
    [request.idempotencyKey],
  );
  if (earlier) {
    if (earlier.charge_id === request.chargeId && new Dec(earlier.amount).eq(new Dec(amount))) return earlier.refund_id;
    throw new GatewayRequestRefusedError(
      'idempotency_key_reused',
      `Idempotency key ${JSON.stringify(request.idempotencyKey)} was already used for another refund; it cannot be reused with other parameters.`,
    );
  }

  const [refunded] = await tx.execute<{ total: string }[]>('select coalesce(sum(amount), 0) as total from sandbox_refunds where charge_id = ?', [request.chargeId]);
  const refundable = new Dec(charge.amount).minus(new Dec(refunded!.total));
  if (new Dec(amount).gt(refundable)) {
    throw new GatewayRequestRefusedError(
      'refund_exceeds_charge',
      `A refund of ${amount} exceeds what is left to refund of charge ${request.chargeId} (${toFixedString(refundable, 2)}).`,
    );
  }
  const refundId = newId('re_sbx');
  const inserted = await tx.execute<{ refund_id: string }[]>(
    `insert into sandbox_refunds (idempotency_key, charge_id, refund_id, amount) values (?, ?, ?, ?)
     on conflict (idempotency_key) do nothing returning refund_id`,
    [request.idempotencyKey, request.chargeId, refundId, amount],
  );
  if (inserted.length === 0) {
    throw new Error(`Idempotency key ${JSON.stringify(request.idempotencyKey)} was used at the same moment for a refund of another charge.`);
  }
  return refundId;
}

/** How many charges succeeded (the sandbox's "how many times was this card charged"), by card and/or key. */
export async function countCharges(orm: Orm, filter: { cardRef?: string; idempotencyKey?: string } = {}): Promise<number> {
  const [row] = await orm.em.fork().execute<{ count: string }[]>(
    `select count(*) as count from sandbox_charges
     where outcome = 'succeeded' and (?::text is null or card_ref = ?) and (?::text is null or idempotency_key = ?)`,
    [filter.cardRef ?? null, filter.cardRef ?? null, filter.idempotencyKey ?? null, filter.idempotencyKey ?? null],
  );
  return Number(row!.count);
}

/** How many refunds a charge has. */
export async function countRefunds(orm: Orm, filter: { chargeId: string }): Promise<number> {
  const [row] = await orm.em.fork().execute<{ count: string }[]>('select count(*) as count from sandbox_refunds where charge_id = ?', [filter.chargeId]);
  return Number(row!.count);
}
