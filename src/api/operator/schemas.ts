import { z } from 'zod';
import { decimalString, identifier, jsonNumberAmount } from '../validation.ts';

export const CreateTenantBody = z.strictObject({ tenant_id: identifier });
export const CreateTenantKeyBody = z.strictObject({});
export const CreateApiKeyBody = z.strictObject({ scope: z.enum(['operator', 'watcher'], { error: 'must be "operator" or "watcher"' }) });

export const PutRegionBody = z.strictObject({
  region_describe: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
});

const planPrice = jsonNumberAmount({ maxDecimals: 2, positive: true, max: '1000000' });
const text = (max: number) => z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`);
const nonEmpty = (max: number) => text(max).min(1, 'must not be empty');

export const CreatePlanBody = z.strictObject({
  region: identifier,
  type: nonEmpty(32),
  level: nonEmpty(32).optional(),
  name: nonEmpty(128),
  price: planPrice,
  bill_period: z.enum(['M', 'Y'], { error: 'must be "M" (monthly) or "Y" (yearly)' }),
  description: text(512),
  comment: text(512).optional(),
  status: z.enum(['available', 'unavailable'], { error: 'must be "available" or "unavailable"' }),
});

export const PatchPlanBody = CreatePlanBody.omit({ region: true })
  .partial()
  .refine((body) => Object.keys(body).length > 0, { message: 'send at least one field to change' });

const bookRate = decimalString({ maxDecimals: 12, maxIntegerDigits: 9 });
const multiplier = decimalString({ maxDecimals: 6, maxIntegerDigits: 3, positive: true });
const discount = decimalString({ maxDecimals: 6, maxIntegerDigits: 1, max: '0.99' });

export const PutClusterBody = z.strictObject({
  cpu_core_month_usd: bookRate,
  memory_gib_month_usd: bookRate,
  storage_gib_month_usd: bookRate,
  chart_multipliers: z.record(z.string().min(1).max(128), multiplier).optional(),
  period_discounts: z.record(z.string().regex(/^(1[0-2]|[1-9])$/, 'period keys are months from "1" to "12"'), discount).optional(),
});

export const RateTypeParam = z.enum(['ANKR_ERC20'], {
  error: 'must be ANKR_ERC20 (USD needs no rate; USDT_ERC20 is 1:1 with USD by the seed rule)',
});
export const PutRateBody = z.strictObject({ usd: decimalString({ maxDecimals: 12, maxIntegerDigits: 9, positive: true }) });
