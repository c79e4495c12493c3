import { defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { INSTALLATION_SEARCH_ATTRIBUTE_NAME, type Installation } from '../domain/installation.ts';

/**
 * Custom search attributes the workflows keep current, so operators can find them in the Temporal UI
 * and CLI. The dev server, the test harness and docker-compose register exactly this list.
 */
export const SEARCH_ATTRIBUTES = {
  TeamId: 'Keyword',
  PrePayId: 'Int',
  PaymentType: 'Keyword',
  PrepayStatus: 'Keyword',
  PeriodEnd: 'Datetime',
  TenantId: 'Keyword',
  PlanId: 'Keyword',
  SubscriptionStatus: 'Keyword',
  /** webhook delivery workflows: the endpoint (with TenantId for a tenant's endpoint) */
  WebhookEndpointId: 'Keyword',
  /** the installation that started the workflow (decision 0090); set at start, never changed */
  [INSTALLATION_SEARCH_ATTRIBUTE_NAME]: 'Keyword',
} as const;

export const tenantSearchAttribute = defineSearchAttributeKey('TenantId', 'KEYWORD');
export const webhookEndpointSearchAttribute = defineSearchAttributeKey('WebhookEndpointId', 'KEYWORD');

export const installationSearchAttribute = defineSearchAttributeKey(INSTALLATION_SEARCH_ATTRIBUTE_NAME, 'KEYWORD');

/** The search attribute pair every workflow the engine starts carries. */
export function installationAttribute(installation: Installation): SearchAttributePair {
  return { key: installationSearchAttribute, value: installation.id };
}

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}
