/**
 * The card gateway seen by the engine: tokenise a card, charge it, refund a charge. Implementations:
 * `sandbox` (deterministic test cards, persisted in PostgreSQL) and `stripe` (the official SDK).
 * Every charge and refund carries an idempotency key: repeating a key replays the first outcome and
 * never charges twice.
 */
import { gatewayIdempotencyKey, type Installation } from '../domain/installation.ts';
import type { TokenisedCard } from '../domain/cards.ts';
import type { Dec } from '../domain/money.ts';

export type { TokenisedCard } from '../domain/cards.ts';

export interface ChargeRequest {
  /** stable across retries: derived from the business key and step, never the attempt number */
  idempotencyKey: string;
  cardRef: string;
  /** USD, at most 2 decimals, positive */
  amount: Dec;
  currency: 'USD';
  /** true for renewals and other charges made without the customer present */
  offSession: boolean;
  description: string;
  /** the gateway's customer for this tenant, when the gateway has such a notion */
  customerRef?: string | undefined;
}

export interface ChargeResult {
  chargeId: string;
  amount: Dec;
}

export interface RefundRequest {
  idempotencyKey: string;
  chargeId: string;
  amount: Dec;
}

export interface RefundResult {
  refundId: string;
}

/** The card was refused: permanent for this charge; retrying will not help. */
export class CardDeclinedError extends Error {
  readonly declineCode: string;
  constructor(declineCode: string, message: string) {
    super(message);
    this.name = 'CardDeclinedError';
    this.declineCode = declineCode;
  }
}

/** The gateway could not be reached or failed: the same request may succeed later. */
export class GatewayUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayUnavailableError';
  }
}

/**
 * The gateway refused the request for good: an amount below its minimum, a card detached from its
 * customer, an idempotency key reused with other parameters, a refund it will not make. Retrying the same
 * request will never succeed; `code` is the gateway's reason (e.g. `amount_too_small`, `resource_missing`).
 */
export class GatewayRequestRefusedError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayRequestRefusedError';
    this.code = code;
  }
}

/** The smallest card charge the gateways take (Stripe's minimum for USD); the API refuses less at the edge. */
export const MINIMUM_CARD_CHARGE_USD = '0.50';

/** The token is not one the gateway knows (bad input, 400 to the client). */
export class InvalidCardTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCardTokenError';
  }
}

export interface CardGateway {
  readonly name: 'sandbox' | 'stripe';
  /** Turns a gateway token (from the gateway's client-side library, or a sandbox test token) into a stored card. */
  tokenise(token: string, tenantId: string): Promise<TokenisedCard>;
  /** Charges a card; throws CardDeclinedError or GatewayUnavailableError. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Refunds (part of) a charge; throws GatewayUnavailableError on outages. */
  refund(request: RefundRequest): Promise<RefundResult>;
}

/**
 * The gateway as the engine's activities use it: every idempotency key sent is scoped by the installation
 * (`{installation}:{key}`, decision 0090), so two installations on one gateway account (staging and
 * production, or a database reset) never replay each other's charges. A legacy installation sends its keys
 * unchanged: a charge in flight across the upgrade keeps its key.
 */
export function installationScopedGateway(gateway: CardGateway, installation: () => Promise<Installation>): CardGateway {
  return {
    name: gateway.name,
    tokenise: (token, tenantId) => gateway.tokenise(token, tenantId),
    charge: async (request) => gateway.charge({ ...request, idempotencyKey: gatewayIdempotencyKey(await installation(), request.idempotencyKey) }),
    refund: async (request) => gateway.refund({ ...request, idempotencyKey: gatewayIdempotencyKey(await installation(), request.idempotencyKey) }),
  };
}
