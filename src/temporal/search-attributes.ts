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
} as const;

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}
