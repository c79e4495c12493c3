import { z } from 'zod';
import { MAX_PERIOD_MONTHS, MIN_PERIOD_MONTHS, RESOURCE_LIMITS } from '../../domain/pricing.ts';
import { identifier, integerIn } from '../validation.ts';

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
