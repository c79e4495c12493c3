/**
 * The Java time-skipping test server refuses unknown custom search attributes ("search attribute … is not
 * defined") but implements the operator service's AddSearchAttributes: this registers the engine's list
 * (src/temporal/search-attributes.ts) there, as the dev server and docker-compose do.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.ts';

/** temporal.api.enums.v1.IndexedValueType */
const INDEXED_VALUE_TYPE = { Keyword: 2, Int: 3, Datetime: 6 } as const;

export async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const searchAttributes = Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]]));
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
}
