import { ApiKey } from './api-key.entity.ts';
import { Cluster, Plan, Region, TokenRate } from './catalog.entity.ts';
import { Quote } from './quote.entity.ts';
import { Tenant } from './tenant.entity.ts';

export const entities = [Tenant, ApiKey, Region, Plan, Cluster, TokenRate, Quote];

export * from './api-key.entity.ts';
export * from './catalog.entity.ts';
export * from './quote.entity.ts';
export * from './tenant.entity.ts';
