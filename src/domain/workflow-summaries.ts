/**
 * What an operator reads in the Temporal Web UI (decision 0101): the static summary and details each
 * workflow is started with, the names of the workflows' durable timers and the summaries of their activity
 * calls. The wording lives here, one function per start, timer and call, so that it reads alike everywhere.
 *
 * Pure and deterministic: the starters in src/temporal/ and the workflow code both call it. Total: it never
 * throws (a summary must not fail a start or a workflow task), an amount that is no plain decimal is shown
 * as it came. Amounts stay decimal text and pass through money.ts, never through a JavaScript number.
 */
import { CURRENCY_DECIMALS, decimalPlaces, parseDecimal, toCanonicalString, toFixedString } from './money.ts';

/** The server keeps a summary of at most this many bytes (UTF-8); longer ones are cut here, ending in "…". */
export const SUMMARY_MAX_BYTES = 200;
/** The same for details (multi-line markdown). */
export const DETAILS_MAX_BYTES = 20_000;

/** The user metadata of a workflow start: `staticSummary` for the list, `staticDetails` for the workflow's page. */
export interface StartMetadata {
  staticSummary: string;
  staticDetails?: string;
}

const SEP = ' · ';

// ---------------------------------------------------------------------------------------------------------
// Formatting

/** `USD 134.87`, `ANKR_ERC20 2500.5`: USD to the cent (never rounded: a finer amount keeps its decimals), tokens as exact as given. */
export function formatMoney(currency: string, amount: string | undefined): string {
  return `${currency} ${formatAmount(currency, amount)}`;
}

function formatAmount(currency: string, amount: string | undefined): string {
  if (typeof amount !== 'string') return '?';
  try {
    const value = parseDecimal(amount);
    return currency === 'USD' && decimalPlaces(value) <= CURRENCY_DECIMALS.USD ? toFixedString(value, CURRENCY_DECIMALS.USD) : toCanonicalString(value);
  } catch {
    return amount;
  }
}

/** `5 s`, `5 min`, `2 h`, `1.5 h`, `7 days`: a wait as an operator says it. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const seconds = ms / 1000;
  if (seconds < 60) return `${round1(seconds)} s`;
  if (seconds < 3600) return `${round1(seconds / 60)} min`;
  if (seconds < 86_400) return `${round1(seconds / 3600)} h`;
  const days = round1(seconds / 86_400);
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

const months = (count: number) => `${count} ${count === 1 ? 'month' : 'months'}`;

/** `0x1234abcd…9f3e`: a hash or address short enough for a summary (the whole one is in the details). */
export function shortHex(value: string): string {
  return value.length > 16 ? `${value.slice(0, 10)}…${value.slice(-4)}` : value;
}

/** One line, cut to `maxBytes` of UTF-8 (ending in "…"): what the server keeps of a summary. */
export function clipSummary(text: string, maxBytes = SUMMARY_MAX_BYTES): string {
  return clipBytes(text.replace(/\s+/g, ' ').trim(), maxBytes);
}

function clipDetails(lines: (string | false | undefined)[]): string {
  return clipBytes(lines.filter((line): line is string => typeof line === 'string').join('\n'), DETAILS_MAX_BYTES);
}

function clipBytes(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const budget = maxBytes - utf8Bytes('…');
  let kept = '';
  let bytes = 0;
  for (const char of text) {
    const size = utf8Bytes(char);
    if (bytes + size > budget) break;
    kept += char;
    bytes += size;
  }
  return `${kept}…`;
}

function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const point = char.codePointAt(0) ?? 0;
    bytes += point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
  }
  return bytes;
}

const summary = (...parts: (string | false | undefined)[]) => clipSummary(parts.filter((part): part is string => typeof part === 'string' && part !== '').join(SEP));

// ---------------------------------------------------------------------------------------------------------
// Workflow starts (src/temporal/*.ts)

export interface PrepayStartFacts {
  prePayId: number;
  tenantId: string;
  /** `USD` (card) or the token */
  paymentType: string;
  cardId: string | null;
  period: number;
  autoRenewal: boolean;
  /** the cycle's price in the payment currency */
  amount: string;
  /** token prepays: its USD value */
  usd?: string | undefined;
  tokenPayment?: { depositAddress: string; deadline: string } | undefined;
}

export interface SubscriptionStartFacts {
  subscriptionId: string;
  tenantId: string;
  planId: string;
  /** `M` monthly, `Y` yearly */
  billPeriod: string;
  /** USD per period */
  price: string;
  period: number;
  status: string;
}

export interface TransferFacts {
  chainId: number;
  txHash: string;
  logIndex: number;
  token: string;
  amount: string;
  from: string;
  to: string;
  blockNumber: number;
}

const CREDIT_REASONS: Record<string, string> = { no_open_prepay: 'no open prepay takes it', token_mismatch: "not the prepay's token" };

export const startMetadata = {
  /** `Prepay 12 · team acme · USD 134.87 · 12 months · card` (a token prepay: its token amount, the USD value, `token`) */
  prepay(input: PrepayStartFacts): StartMetadata {
    const card = input.paymentType === 'USD';
    const price = card ? formatMoney('USD', input.amount) : `${formatMoney(input.paymentType, input.amount)} (${formatMoney('USD', input.usd)})`;
    const terms = input.tokenPayment;
    return {
      staticSummary: summary(`Prepay ${input.prePayId}`, `team ${input.tenantId}`, price, months(input.period), card ? 'card' : 'token'),
      staticDetails: clipDetails([
        `**Prepay ${input.prePayId}** of team \`${input.tenantId}\``,
        '',
        card
          ? `- Price: ${formatMoney('USD', input.amount)}, charged to card \`${input.cardId ?? '?'}\``
          : `- Price: ${formatMoney(input.paymentType, input.amount)} (${formatMoney('USD', input.usd)}), paid by transfers`,
        terms && `- Deposit address: \`${terms.depositAddress}\`; what has not arrived by ${terms.deadline} does not count`,
        `- Service: ${months(input.period)} from the app's binding, month by month`,
        `- Auto-renewal: ${input.autoRenewal ? 'on' : 'off'}`,
        '',
        "Later cycles continue as new runs of this workflow id; the prepay's status is its `PrepayStatus` search attribute.",
      ]),
    };
  },

  /** The tombstone of a prepay whose workflow never started (decision 0080). */
  abandonedPrepay(input: { prePayId: number; tenantId: string }): StartMetadata {
    return { staticSummary: summary(`Abandoned prepay ${input.prePayId}`, `team ${input.tenantId}`, 'tombstone: never charged') };
  },

  /** `Subscription pro · team acme · USD 10.50 monthly` */
  subscription(input: SubscriptionStartFacts): StartMetadata {
    const every = input.billPeriod === 'Y' ? 'yearly' : input.billPeriod === 'M' ? 'monthly' : `every ${input.billPeriod}`;
    return {
      staticSummary: summary(`Subscription ${input.planId}`, `team ${input.tenantId}`, `${formatMoney('USD', input.price)} ${every}`),
      staticDetails: clipDetails([
        `**Subscription** \`${input.subscriptionId}\` to plan \`${input.planId}\` of team \`${input.tenantId}\``,
        '',
        `- Price: ${formatMoney('USD', input.price)} ${every}, paid from the USD balance`,
        `- Started in period ${input.period}, ${input.status}`,
        '',
        'Each period continues as a new run of this workflow id; the status is its `SubscriptionStatus` search attribute.',
      ]),
    };
  },

  /** `Recharge tr_… · team acme · USD 42.42` */
  recharge(input: { transId: string; tenantId: string; cardId: string; amount: string; description: string }): StartMetadata {
    return {
      staticSummary: summary(`Recharge ${input.transId}`, `team ${input.tenantId}`, formatMoney('USD', input.amount)),
      staticDetails: clipDetails([`- Card: \`${input.cardId}\``, `- Description: ${input.description.replace(/\s+/g, ' ')}`]),
    };
  },

  /** `Refund tr_… · duplicate charge` */
  refund(input: { transId: string; reason: string }): StartMetadata {
    return { staticSummary: summary(`Refund ${input.transId}`, input.reason) };
  },

  /** `Transfer credit · team acme · ANKR_ERC20 12.5 · no open prepay takes it` */
  creditTransfer(input: { transfer: TransferFacts; tenantId: string; prePayId: number | null; reason: string }): StartMetadata {
    const { transfer } = input;
    return {
      staticSummary: summary('Transfer credit', `team ${input.tenantId}`, formatMoney(transfer.token, transfer.amount), CREDIT_REASONS[input.reason] ?? input.reason),
      staticDetails: clipDetails([
        `- Transaction: \`${transfer.txHash}\`, log ${transfer.logIndex}, block ${transfer.blockNumber}, chain ${transfer.chainId}`,
        `- From \`${transfer.from}\` to \`${transfer.to}\``,
        `- Deposit address of prepay: ${input.prePayId ?? 'none'}`,
      ]),
    };
  },

  /** `Webhook delivery evt_… → we_… · team acme` (and the generation when it is a redelivery) */
  webhookDelivery(input: { endpointId: string; eventId: string; generation: number; scheduleSeconds: readonly number[] }, tenantId: string | null): StartMetadata {
    const schedule = input.scheduleSeconds;
    const span = schedule.reduce((total, seconds) => total + seconds, 0);
    return {
      staticSummary: summary(
        `Webhook delivery ${input.eventId} → ${input.endpointId}`,
        tenantId ? `team ${tenantId}` : 'platform',
        input.generation > 1 && `generation ${input.generation}`,
      ),
      staticDetails: clipDetails([
        `- Up to ${schedule.length} attempts over about ${formatDuration(span * 1000)}`,
        `- Generation ${input.generation}: a retry or replay starts a newer one`,
      ]),
    };
  },

  /** The schedule's action (src/temporal/schedules.ts). */
  reconcile(input: { intervalSeconds: number; graceSeconds: number }): StartMetadata {
    return {
      staticSummary: summary('Reconcile', 'repair what crashes left behind', `every ${formatDuration(input.intervalSeconds * 1000)}`),
      staticDetails: clipDetails([
        `Run by the schedule \`reconcile\` (decision 0080); only items older than ${formatDuration(input.graceSeconds * 1000)} are touched.`,
        '',
        '- prepays awaiting payment without a workflow: closed, or their workflow started',
        '- live subscriptions without a workflow: started',
        '- rows whose workflow closed abnormally: flagged for an operator',
        '- token transfers a closed prepay never credited: credited',
        '- webhook deliveries that never started: started',
      ]),
    };
  },

  /** `System check · requested by op-1` */
  systemCheck(input: { requestedBy: string }): StartMetadata {
    return { staticSummary: summary('System check', `requested by ${input.requestedBy}`, 'API → Temporal → worker → PostgreSQL') };
  },
};

// ---------------------------------------------------------------------------------------------------------
// Current details (setCurrentDetails in src/workflows/): a continued run has no static summary of its own
// (continue-as-new does not carry it), so the long-lived workflows say what they are, and where, here.

export const currentDetails = {
  prepay(state: PrepayStartFacts & { cycle: number; status: string; monthsRecognized: number; periodEnd: string | null }): string {
    return clipDetails([
      startMetadata.prepay(state).staticSummary,
      '',
      `- Cycle ${state.cycle}: ${state.status}`,
      state.periodEnd !== null && `- ${state.monthsRecognized} of ${months(state.period)} recognised; the period ends ${state.periodEnd}`,
      `- Auto-renewal: ${state.autoRenewal ? 'on' : 'off'}${state.cardId ? `; card \`${state.cardId}\`` : ''}`,
    ]);
  },
  subscription(state: SubscriptionStartFacts & { periodStart: string; periodEnd: string; nextDeadline: string | null }): string {
    return clipDetails([
      startMetadata.subscription(state).staticSummary,
      '',
      `- Period ${state.period} (${state.periodStart} → ${state.periodEnd}): ${state.status}`,
      state.nextDeadline !== null && `- Unless paid, the next step is due ${state.nextDeadline}`,
    ]);
  },
};

// ---------------------------------------------------------------------------------------------------------
// Durable timers (sleep and condition with a timeout in src/workflows/)

export const timerSummary = {
  /** the wait for CallBackAppInfo; at its end the payment goes back */
  bindingDeadline(refund: string): string {
    return summary('binding deadline', `${refund} back unless an app is bound`);
  },
  /** `month 3 of 12 ends` */
  monthEnds(month: number, period: number): string {
    return summary(`month ${month} of ${period} ends`);
  },
  renewalNotice(before: number): string {
    return summary(`renewal notice`, `${formatDuration(before)} before the period ends`);
  },
  /** `renewal attempt 2 of 4 · charge USD 140.00` */
  renewalAttempt(attempt: number, attempts: number, charge: string): string {
    return summary(`renewal attempt ${attempt} of ${attempts}`, charge);
  },
  /** a token prepay's first payment */
  paymentDeadline(due: string): string {
    return summary('payment deadline', `${due} due`);
  },
  confirmationGrace(): string {
    return summary('confirmation grace', 'transfers mined before the deadline may still count');
  },
  /** the scheduled tries of a token renewal; the last one is the end of the grace period */
  tokenRenewalTry(attempt: number, attempts: number, token: string): string {
    return attempt >= attempts
      ? summary('grace period ends', `last renewal try from the ${token} balance`)
      : summary(`renewal try ${attempt} of ${attempts}`, `from the ${token} balance`);
  },
  /** a paid subscription asleep to its period's end: then renewed from the balance, or ended when it was canceled */
  subscriptionPeriodEnds(period: number, price: string, canceling: boolean): string {
    return summary(`period ${period} ends`, canceling ? 'then the subscription ends' : `renew for ${formatMoney('USD', price)} from the balance`);
  },
  /** an unpaid subscription's wait: until its deadline, or the next daily retry when that comes first */
  unpaidWait(suspended: boolean, untilDeadline: boolean, retryMs: number): string {
    if (!untilDeadline) return summary(`retry the charge in ${formatDuration(retryMs)}`, suspended ? 'suspended' : 'in arrears');
    return suspended ? summary('suspension ends', 'cancel unless paid') : summary('grace period ends', 'suspend unless paid');
  },
  /** `retry in 5 min · attempt 3 of 12` */
  webhookAttempt(attempt: number, attempts: number, waitMs: number): string {
    return attempt === 1 ? summary(`first attempt in ${formatDuration(waitMs)}`) : summary(`retry in ${formatDuration(waitMs)}`, `attempt ${attempt} of ${attempts}`);
  },
};

// ---------------------------------------------------------------------------------------------------------
// Activity calls (executeWithOptions({ summary }, …) in src/workflows/)

export const activitySummary = {
  /** `charge USD 134.87 to card card_x · prepay 12, cycle 1` */
  chargeCard(amount: string, cardId: string, purpose: string): string {
    return summary(`charge ${formatMoney('USD', amount)} to card ${cardId}`, purpose);
  },
  bookPrepayPayment(amount: string, chargeId: string, cycle: number): string {
    return summary(`book ${formatMoney('USD', amount)} paid by ${chargeId}`, `cycle ${cycle}`);
  },
  bookTokenPrepayPayment(token: string, amount: string, usd: string, cycle: number, paidFrom: 'token' | 'balance'): string {
    const from = paidFrom === 'token' ? 'from the transfers' : `from the ${token} balance`;
    return summary(`book ${formatMoney(token, amount)} (${formatMoney('USD', usd)}) ${from}`, `cycle ${cycle}`);
  },
  convertUsdToToken(usd: string, token: string): string {
    return summary(`price ${formatMoney('USD', usd)} in ${token} at the current rate`);
  },
  recognisePrepayMonth(month: number, period: number, currency: string, amount: string): string {
    return summary(`recognise month ${month} of ${period}`, `${formatMoney(currency, amount)} earned`);
  },
  /** a card refund at the gateway, or tokens back to the team's balance */
  refundPrepay(currency: string, amount: string, toBalance: boolean, reason: string): string {
    return summary(toBalance ? `return ${formatMoney(currency, amount)} to the team's balance` : `refund ${formatMoney(currency, amount)} to the card`, reason);
  },
  priceRenewal(appId: string, period: number): string {
    return summary(`price app ${appId} for ${months(period)} at current prices`);
  },
  isPrepayCardUsable(cardId: string): string {
    return summary(`check card ${cardId} can pay`);
  },
  syncPrepay(status: string, seq: number, thenRecords?: string): string {
    return summary(`read model: ${status}`, thenRecords ? `write ${seq}, then record ${thenRecords}` : `write ${seq}`);
  },
  recordEvent(type: string): string {
    return summary(`record ${type}`);
  },
  creditTokenTransfer(transfer: Pick<TransferFacts, 'token' | 'amount' | 'txHash' | 'logIndex'>, reservedFor?: number): string {
    return summary(
      `credit ${formatMoney(transfer.token, transfer.amount)} to the team's balance`,
      `tx ${shortHex(transfer.txHash)}:${transfer.logIndex}`,
      reservedFor !== undefined && `reserved for prepay ${reservedFor}`,
    );
  },
  chargeSubscriptionPeriod(price: string, period: number): string {
    return summary(`charge ${formatMoney('USD', price)} from the balance`, `period ${period}`);
  },
  setSubscriptionStatus(status: string): string {
    return summary(`read model: ${status}`);
  },
  failMovement(transId: string, code: string): string {
    return summary(`mark ${transId} failed`, code);
  },
  settleCredit(transId: string, amount: string, thenResumes = false): string {
    return summary(`credit ${formatMoney('USD', amount)} to the balance${thenResumes ? ', then retry the unpaid subscriptions' : ''}`, transId);
  },
  resumeUnpaidSubscriptions(tenantId: string): string {
    return summary(`retry the unpaid subscriptions of team ${tenantId}`);
  },
  reverseMovement(transId: string): string {
    return summary(`reverse ${transId} in the ledger`);
  },
  refundCharge(amount: string, chargeId: string): string {
    return summary(`refund ${formatMoney('USD', amount)} of ${chargeId} at the gateway`);
  },
  undoMovementReversal(transId: string): string {
    return summary(`undo the reversal of ${transId}`, 'the gateway refused the refund');
  },
  recordGatewayRefund(refundId: string): string {
    return summary(`record gateway refund ${refundId}`);
  },
  findReconcileCandidates(): string {
    return summary('find what crashes left behind');
  },
  reconcile(item: string): string {
    return summary(`reconcile ${item}`);
  },
  webhookAttempt(eventId: string, endpointId: string, attempt: number, attempts: number): string {
    return summary(`POST ${eventId} to ${endpointId}`, `attempt ${attempt} of ${attempts}`);
  },
  checkDatabase(): string {
    return summary('check PostgreSQL and the applied migrations');
  },
  giveUpWebhookDelivery(attempts: number): string {
    return summary(`give up after ${attempts} attempts`, 'mark the delivery failed');
  },
};
