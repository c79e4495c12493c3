/** Webhook delivery's rules and settings (decision 0098). */

/**
 * Seconds before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then every 12 h four
 * times. The last attempt comes about 75 hours after the first, so an endpoint down for two days still gets
 * everything, and one down for more than three days has been failing long enough to be disabled.
 */
export const DEFAULT_WEBHOOK_SCHEDULE_SECONDS: readonly number[] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000, 43200, 43200, 43200, 43200];

export interface WebhookSettings {
  scheduleSeconds: readonly number[];
  /** one attempt's whole time: connect, send, answer */
  timeoutMs: number;
  /** an endpoint whose attempts have failed this long, with none delivered since, is disabled */
  disableAfterMs: number;
  /** loopback, private and link-local targets allowed (development and tests only) */
  allowPrivateTargets: boolean;
  /** https only (production) */
  requireHttps: boolean;
  /** how long the previous secret still signs after a rotation */
  secretOverlapMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  scheduleSeconds: DEFAULT_WEBHOOK_SCHEDULE_SECONDS,
  timeoutMs: 10_000,
  disableAfterMs: 3 * 24 * 3600 * 1000,
  allowPrivateTargets: false,
  requireHttps: false,
  secretOverlapMs: 24 * 3600 * 1000,
};

/** The JSON body of an event's delivery: what its GET answers, with the event's envelope. */
export function webhookBody(event: { id: string; type: string; tenantId: string | null; createdAt: Date; data: Record<string, unknown> }): string {
  return JSON.stringify({ id: event.id, type: event.type, created_at: event.createdAt.toISOString(), tenant_id: event.tenantId, data: event.data });
}
