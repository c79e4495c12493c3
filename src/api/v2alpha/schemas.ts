import { z } from 'zod';
import { MINIMUM_CARD_CHARGE_USD } from '../../gateway/card-gateway.ts';
import { MAX_PERIOD_MONTHS, MIN_PERIOD_MONTHS, RESOURCE_LIMITS } from '../../domain/pricing.ts';
import { decimalString, identifier, integerIn, pageLimit } from '../validation.ts';

export const PaymentTypeParam = z.enum(['USD', 'ANKR_ERC20', 'USDT_ERC20'], { error: 'must be one of USD, ANKR_ERC20, USDT_ERC20' });

/** GetPreAmount (seed 000). */
export const AcquirePreAmountBody = z
  .strictObject({
    cluster_id: identifier,
    chart_name: z.string({ error: 'must be a string' }).max(128, 'must be at most 128 characters'),
    cpu_limit: integerIn(0, RESOURCE_LIMITS.cpuMillicores),
    mem_limit: integerIn(0, RESOURCE_LIMITS.memoryMib),
    storage_limit: integerIn(0, RESOURCE_LIMITS.storageGib),
    period: integerIn(MIN_PERIOD_MONTHS, MAX_PERIOD_MONTHS),
  })
  .refine((body) => body.cpu_limit + body.mem_limit + body.storage_limit > 0, {
    message: 'at least one of cpu_limit, mem_limit, storage_limit must be positive',
    path: ['cpu_limit'],
  });

export const AddCardBody = z.strictObject({
  token: z.string({ error: 'must be a gateway card token such as "tok_visa"' }).min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
});

const zeroOrOne = z.union([z.literal(0), z.literal(1)], { error: 'must be 1 (renew automatically) or 0' });
/** `YYYY-MM` of years 0001 to 9999: PostgreSQL's calendar has no year 0 (`0000-01` was a 500 from the query). */
const month = z.string({ error: 'must be a month such as "2026-03"' }).regex(/^(000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})-(0[1-9]|1[0-2])$/, 'must be a month such as "2026-03"');
const atLeastOneResource = {
  message: 'at least one of cpu_limit, mem_limit, storage_limit must be positive',
  path: ['cpu_limit'],
};

/** CreatePrePaymentCard (seed 000): `team_id` and `card_id` repeat the path; `quote_id` (from GetPreAmount) is optional. */
export const CreatePrePaymentCardBody = z.strictObject({
  team_id: identifier,
  card_id: identifier,
  // The gateway refuses card charges below its minimum for good: refused here, before anything is created.
  amount: decimalString({ maxDecimals: 2, positive: true }).refine(
    (amount) => amount.gte(MINIMUM_CARD_CHARGE_USD),
    `must be at least ${MINIMUM_CARD_CHARGE_USD} (the smallest card charge)`,
  ),
  period: integerIn(MIN_PERIOD_MONTHS, MAX_PERIOD_MONTHS),
  auto_renewal: zeroOrOne,
  quote_id: z.uuid({ error: 'must be the quote_id answered by acquire_pre_amount' }).optional(),
});

/** A balance's currency in a path. */
export const CurrencyParam = z.enum(['USD', 'USDT_ERC20', 'ANKR_ERC20'], { error: 'must be one of USD, USDT_ERC20, ANKR_ERC20' });

export const ListTransactionsQuery = z.strictObject({ limit: pageLimit, starting_after: z.string().min(1).max(64).optional() });

/** The `{type}` of the token prepay route: a token (USD is answered with a pointer to the card route). */
export const TokenTypeParam = z.enum(['ANKR_ERC20', 'USDT_ERC20'], { error: 'must be one of ANKR_ERC20, USDT_ERC20' });

/** The token prepay (DESIGN §11): the amount and rate come only from a locked quote of that token. */
export const CreatePrePaymentTokenBody = z.strictObject({
  quote_id: z.uuid({ error: 'must be the quote_id answered by acquire_pre_amount for this token' }),
  amount: decimalString({ maxDecimals: 18, maxIntegerDigits: 20, positive: true }),
  period: integerIn(MIN_PERIOD_MONTHS, MAX_PERIOD_MONTHS),
  auto_renewal: zeroOrOne,
});

/** CallBackAppInfo (seed 000): the deployed app that a paid prepay pays for. */
export const CallBackAppInfoBody = z
  .strictObject({
    app_id: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    pre_pay_id: z.number({ error: 'must be the integer pre_pay_id' }).int('must be the integer pre_pay_id').positive('must be the integer pre_pay_id').max(Number.MAX_SAFE_INTEGER),
    cluster_id: identifier,
    chart_name: z.string({ error: 'must be a string' }).max(128, 'must be at most 128 characters'),
    cpu_limit: integerIn(0, RESOURCE_LIMITS.cpuMillicores),
    mem_limit: integerIn(0, RESOURCE_LIMITS.memoryMib),
    storage_limit: integerIn(0, RESOURCE_LIMITS.storageGib),
    icon_url: z.string({ error: 'must be a string' }).max(2048, 'must be at most 2048 characters').default(''),
    project_name: z.string({ error: 'must be a string' }).max(128, 'must be at most 128 characters').default(''),
  })
  .refine((body) => body.cpu_limit + body.mem_limit + body.storage_limit > 0, atLeastOneResource);

/** A pre_pay_id in a path. */
export const PrePayIdParam = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, 'must be a pre_pay_id (a positive integer)')
  .transform((text) => Number(text));

export const ListPrepaysQuery = z.strictObject({
  limit: pageLimit,
  starting_after: PrePayIdParam.optional(),
});

export const SetAutoRenewalBody = z.strictObject({ auto_renewal: zeroOrOne });

export const ChangePrepayCardBody = z.strictObject({ card_id: identifier });

export const CancelPrepayBody = z.strictObject({
  reason: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
});

/** GetPreInvoiceList: optional inclusive month range. */
export const InvoiceListQuery = z
  .strictObject({ from: month.optional(), to: month.optional() })
  .refine((query) => !query.from || !query.to || query.from <= query.to, { message: 'must not be after to', path: ['from'] });
