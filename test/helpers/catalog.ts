/** Regions and clusters made through the operator API, as an operator would, for tests that quote, sell or bind against them. */
import { client } from './http.ts';
import { uniqueId, type TestStack } from './stack.ts';
import { expectStatus } from './tenants.ts';

/** 10 USD per core-month, nothing else: 1000 millicores for 3 months cost 30. */
export const TEN_USD_A_CORE = { cpu_core_month_usd: '10', memory_gib_month_usd: '0', storage_gib_month_usd: '0' };

/** Creates a cluster with the price book `book` and answers its id. */
export async function createCluster(stack: Pick<TestStack, 'url' | 'operatorKey'>, book: Record<string, unknown> = TEN_USD_A_CORE, prefix = 'cluster'): Promise<string> {
  const clusterId = uniqueId(prefix);
  expectStatus(await client(stack.url, stack.operatorKey)('PUT', `/operator/v1/clusters/${clusterId}`, { body: book }), 200);
  return clusterId;
}

/** Creates a region described as `describe` and answers its id. */
export async function createRegion(stack: Pick<TestStack, 'url' | 'operatorKey'>, describe = '铸造一区', prefix = 'region'): Promise<string> {
  const region = uniqueId(prefix);
  expectStatus(await client(stack.url, stack.operatorKey)('PUT', `/operator/v1/regions/${region}`, { body: { region_describe: describe } }), 200);
  return region;
}
