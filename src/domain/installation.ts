/**
 * The installation (decision 0090): which database's engine made a workflow or a gateway request. Ids the
 * engine derives from its database (prepay ids from a sequence, subscription ids per tenant and plan,
 * Idempotency-Key digests, transfers) repeat when the database is reset, restored or installed twice; the
 * installation's id, stored in the database on first start, makes every workflow id and every gateway
 * idempotency key of one installation distinct from any other's.
 */
export interface Installation {
  /** 1–16 lower-case letters and digits */
  readonly id: string;
  /**
   * The database held money before installations existed: its workflows and gateway keys keep the
   * unscoped forms, which may not change while they run (decision 0090).
   */
  readonly legacy: boolean;
}

/** What ENGINE_INSTANCE_ID and the stored id may be. */
export const INSTALLATION_ID_PATTERN = /^[a-z0-9]{1,16}$/;

/** `{kind}-{installation}-{rest}`, or the unscoped `{kind}-{rest}` of a legacy installation. */
export function scopedId(installation: Installation, kind: string, rest: string): string {
  return installation.legacy ? `${kind}-${rest}` : `${kind}-${installation.id}-${rest}`;
}

/** The key sent to the card gateway for one of the engine's keys: `{installation}:{key}` (decision 0090). */
export function gatewayIdempotencyKey(installation: Installation, key: string): string {
  return installation.legacy ? key : `${installation.id}:${key}`;
}

/** The search attribute every workflow of the engine carries: the installation that started it. */
export const INSTALLATION_SEARCH_ATTRIBUTE_NAME = 'EngineInstallation';
