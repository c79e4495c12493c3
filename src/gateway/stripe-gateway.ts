/**
 * The Stripe card gateway, through the official SDK. A card is a PaymentMethod attached to a Stripe
 * Customer (so that it can be charged again off-session); a charge is a confirmed PaymentIntent whose
 * id is the chargeId; the engine's idempotency key travels as Stripe's Idempotency-Key, so Stripe
 * itself replays a repeated charge or refund.
 */
import Stripe from 'stripe';
import { toMinorUnits, type Dec } from '../domain/money.ts';
import { CardDeclinedError, GatewayRequestRefusedError, GatewayUnavailableError, InvalidCardTokenError } from './card-gateway.ts';
import type { CardGateway, ChargeRequest, ChargeResult, RefundRequest, RefundResult, TokenisedCard } from './card-gateway.ts';

export interface StripeGatewayOptions {
  apiKey: string;
  /** e.g. `https://api.stripe.com` (the default) or a local stand-in `http://127.0.0.1:12111`; no path */
  apiBase?: string | undefined;
  /** the SDK's own retries of connection errors and 5xx answers (same idempotency key); default 2 */
  maxNetworkRetries?: number | undefined;
  /** per request, in milliseconds; default 30 s */
  timeoutMs?: number | undefined;
}

/** The SDK's host, port and protocol options for an API base URL. */
export function stripeHostOptions(apiBase: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiBase);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`STRIPE_API_BASE must be an http(s) URL, not ${apiBase}.`);
  if (url.pathname !== '/' || url.search || url.hash) throw new Error(`STRIPE_API_BASE must not have a path or query (${apiBase}): the SDK adds /v1/… itself.`);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port ? Number(url.port) : protocol === 'https' ? 443 : 80;
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, protocol };
}

export function createStripeGateway(options: StripeGatewayOptions): CardGateway {
  if (!options.apiKey) throw new Error('The Stripe gateway needs an API key (STRIPE_API_KEY).');
  const stripe = new Stripe(options.apiKey, {
    ...(options.apiBase ? stripeHostOptions(options.apiBase) : {}),
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 30_000,
    telemetry: false,
    appInfo: { name: 'payment-engine' },
  });

  return {
    name: 'stripe',

    async tokenise(token: string, tenantId: string): Promise<TokenisedCard> {
      let paymentMethod = await call('tokenise', () =>
        token.startsWith('pm_') ? stripe.paymentMethods.retrieve(token) : stripe.paymentMethods.create({ type: 'card', card: { token } }),
      );
      const card = paymentMethod.card;
      if (paymentMethod.type !== 'card' || !card) throw new InvalidCardTokenError(`${token} is not a card.`);
      let customerRef = customerIdOf(paymentMethod);
      if (!customerRef) {
        // A PaymentMethod can be charged again (renewals, off-session) only once attached to a Customer.
        const paymentMethodId = paymentMethod.id;
        const customer = await call('tokenise', () => stripe.customers.create({ metadata: { tenant_id: tenantId } }, { idempotencyKey: `customer-for-${paymentMethodId}` }));
        paymentMethod = await call('tokenise', () => stripe.paymentMethods.attach(paymentMethodId, { customer: customer.id }, { idempotencyKey: `attach-${paymentMethodId}` }));
        customerRef = customer.id;
      }
      return { gatewayRef: paymentMethod.id, brand: card.brand, last4: card.last4, expMonth: card.exp_month, expYear: card.exp_year, customerRef };
    },

    async charge(request: ChargeRequest): Promise<ChargeResult> {
      if (request.currency !== 'USD') throw new Error(`The Stripe gateway is configured for USD only, not ${String(request.currency)}.`);
      const cents = stripeAmount(request.amount);
      const customer = request.customerRef ?? customerIdOf(await call('charge', () => stripe.paymentMethods.retrieve(request.cardRef)));
      const intent = await call('charge', () =>
        stripe.paymentIntents.create(
          {
            amount: cents,
            currency: 'usd',
            payment_method: request.cardRef,
            allowed_payment_method_types: ['card'],
            confirm: true,
            ...(request.offSession ? { off_session: true } : {}),
            ...(customer ? { customer } : {}),
            description: request.description,
            metadata: { idempotency_key: request.idempotencyKey },
          },
          { idempotencyKey: request.idempotencyKey },
        ),
      );
      if (intent.amount !== cents) throw new Error(`Stripe answered PaymentIntent ${intent.id} for ${intent.amount} cents, not the ${cents} asked for.`);
      switch (intent.status) {
        case 'succeeded':
          return { chargeId: intent.id, amount: request.amount };
        case 'requires_action':
          throw new CardDeclinedError('authentication_required', 'The card needs the cardholder to authenticate this payment.');
        case 'requires_payment_method': {
          const failure = intent.last_payment_error;
          throw new CardDeclinedError(failure?.decline_code ?? failure?.code ?? 'card_declined', failure?.message ?? 'The card was declined.');
        }
        case 'processing':
          throw new GatewayUnavailableError(`Stripe is still processing PaymentIntent ${intent.id}.`);
        default:
          throw new Error(`Stripe left PaymentIntent ${intent.id} in the unexpected status ${intent.status}.`);
      }
    },

    async refund(request: RefundRequest): Promise<RefundResult> {
      const cents = stripeAmount(request.amount);
      const refund = await call('refund', () =>
        stripe.refunds.create(
          { payment_intent: request.chargeId, amount: cents, metadata: { idempotency_key: request.idempotencyKey } },
          { idempotencyKey: request.idempotencyKey },
        ),
      );
      if (refund.status === 'failed' || refund.status === 'canceled') {
        throw new GatewayRequestRefusedError(
          refund.failure_reason ?? `refund_${refund.status}`,
          `Stripe refund ${refund.id} of ${request.chargeId} ${refund.status}${refund.failure_reason ? `: ${refund.failure_reason}` : ''}.`,
        );
      }
      return { refundId: refund.id };
    },
  };
}

/** Whole cents for Stripe: the one place money becomes a JS number, checked to be a safe positive integer. */
export function stripeAmount(amount: Dec): number {
  const cents = toMinorUnits(amount, 'USD');
  if (cents <= 0n) throw new RangeError(`A Stripe amount must be positive, not ${amount.toFixed()}.`);
  if (cents > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${amount.toFixed()} USD is too large to send to Stripe.`);
  return Number(cents);
}

function customerIdOf(paymentMethod: Stripe.PaymentMethod): string | undefined {
  const customer = paymentMethod.customer;
  if (!customer) return undefined;
  return typeof customer === 'string' ? customer : customer.id;
}

type Operation = 'tokenise' | 'charge' | 'refund';

/** Runs one SDK call and translates Stripe's errors into the gateway's. */
async function call<T>(operation: Operation, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw translateStripeError(operation, error);
  }
}

export function translateStripeError(operation: Operation, error: unknown): unknown {
  const errors = Stripe.errors;
  if (!(error instanceof errors.StripeError)) return error;
  if (error instanceof errors.StripeCardError) {
    return new CardDeclinedError(error.decline_code ?? error.code ?? 'card_declined', error.message || 'The card was declined.');
  }
  if (error instanceof errors.StripeConnectionError || error instanceof errors.StripeAPIError || error instanceof errors.StripeRateLimitError) {
    return new GatewayUnavailableError(`Stripe is unavailable (${error.type}${error.statusCode ? ` ${error.statusCode}` : ''}): ${error.message}`, { cause: error });
  }
  if (error instanceof errors.StripeAuthenticationError || error instanceof errors.StripePermissionError) {
    // Our key, not the customer's card: an outage for payments until an operator fixes STRIPE_API_KEY.
    return new GatewayUnavailableError(`Stripe refused the API key (${error.type}): ${error.message}`, { cause: error });
  }
  if (error instanceof errors.StripeIdempotencyError) {
    return new GatewayRequestRefusedError(
      'idempotency_key_reused',
      `Stripe refused the ${operation}: its idempotency key was already used with other parameters (${error.message}).`,
      { cause: error },
    );
  }
  if (error instanceof errors.StripeInvalidRequestError && operation === 'tokenise') {
    return new InvalidCardTokenError(`Stripe does not accept this card token: ${error.message}`);
  }
  if (error instanceof errors.StripeInvalidRequestError && operation === 'charge' && error.code === 'resource_missing' && (error.param ?? 'payment_method') === 'payment_method') {
    return new InvalidCardTokenError(`Stripe does not know this card (it may have been removed): ${error.message}`);
  }
  // Stripe's "retry later" answers: another request with this key is still running, a lock timed out.
  if (error.statusCode === 409 || error.code === 'idempotency_key_in_use' || error.code === 'lock_timeout' || error.code === 'rate_limit') {
    return new GatewayUnavailableError(`Stripe asks to retry the ${operation} (${error.type}${error.code ? ` ${error.code}` : ''}): ${error.message}`, { cause: error });
  }
  // An invalid request (amount too small, a detached card, a refund Stripe will not make) fails the same way every time.
  if (error instanceof errors.StripeInvalidRequestError) {
    return new GatewayRequestRefusedError(
      error.code ?? 'invalid_request',
      `Stripe rejected the ${operation} (${error.type}${error.code ? ` ${error.code}` : ''}): ${error.message}`,
      { cause: error },
    );
  }
  return new Error(`Stripe rejected the ${operation} (${error.type}${error.code ? ` ${error.code}` : ''}): ${error.message}`, { cause: error });
}
