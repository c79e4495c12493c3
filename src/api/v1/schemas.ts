import { z } from 'zod';
import { identifier } from '../validation.ts';

export const ListMarketQuery = z.strictObject({
  region: identifier,
  type: z.string().min(1, 'must not be empty').max(32, 'must be at most 32 characters').optional(),
});
