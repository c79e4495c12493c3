/**
 * The Stripe gateway through the official SDK against a local stand-in of the few Stripe endpoints it
 * uses (node:http on 127.0.0.1). The stand-in checks what the SDK sends (paths, form fields, the
 * Idempotency-Key and the bearer key), replays a repeated idempotency key as Stripe does, and answers
 * Stripe-shaped JSON: success, a 402 card_error, 5xx/429 outages, a dropped connection.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Orm } from '../../src/db/orm.ts';
import { Dec } from '../../src/domain/money.ts';
import { CardDeclinedError, GatewayUnavailableError, InvalidCardTokenError, type CardGateway, type ChargeRequest } from '../../src/gateway/card-gateway.ts';
import { configSchema } from '../../src/config.ts';
import { createCardGateway } from '../../src/gateway/index.ts';
import { createStripeGateway, stripeAmount, stripeHostOptions } from '../../src/gateway/stripe-gateway.ts';

const API_KEY = 'sk_test_stand_in_0123456789';

interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}

interface Answer {
  status: number;
  body: unknown;
}

const card = (id: string, brand: string, last4: string, customer: string | null) => ({
  id,
  object: 'payment_method',
  type: 'card',
  customer,
  card: { brand, last4, exp_month: 12, exp_year: 2034, funding: 'credit', country: 'US' },
  metadata: {},
});

const stripeError = (status: number, error: Record<string, unknown>): Answer => ({ status, body: { error } });

/** What the stand-in knows: payment methods by id and the tokens that create them. */
const PAYMENT_METHODS: Record<string, ReturnType<typeof card>> = {
  pm_visa: card('pm_visa', 'visa', '4242', 'cus_existing'),
  pm_declined: card('pm_declined', 'visa', '9995', 'cus_existing'),
  pm_auth: card('pm_auth', 'visa', '3184', 'cus_existing'),
};
const TOKENS: Record<string, ReturnType<typeof card>> = {
  tok_visa: card('pm_from_tok_visa', 'visa', '4242', null),
  tok_mastercard: card('pm_from_tok_mastercard', 'mastercard', '4444', null),
};

class StripeStandIn {
  readonly seen: SeenRequest[] = [];
  private readonly replays = new Map<string, { body: string; answer: Answer }>();
  private readonly failuresLeft = new Map<string, number>();
  private sequence = 0;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const seen: SeenRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, form: new URLSearchParams(body) };
        this.seen.push(seen);
        const answer = this.answer(seen, body);
        if (answer === 'hang-up') {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json', 'request-id': `req_${++this.sequence}` });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** the requests to one path */
  to(method: string, path: string): SeenRequest[] {
    return this.seen.filter((request) => request.method === method && request.path === path);
  }

  private answer(request: SeenRequest, body: string): Answer | 'hang-up' {
    if (request.headers.authorization !== `Bearer ${API_KEY}`) {
      return stripeError(401, { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_***' });
    }
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof key !== 'string') return this.route(request);
    // Stripe's idempotency: the same key and body replay the first answer; another body is refused.
    const earlier = this.replays.get(key);
    if (earlier) {
      if (earlier.body !== body) {
        return stripeError(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}'.`,
        });
      }
      return earlier.answer;
    }
    const answer = this.route(request);
    if (answer !== 'hang-up' && answer.status < 500 && answer.status !== 429) this.replays.set(key, { body, answer });
    return answer;
  }

  private route(request: SeenRequest): Answer | 'hang-up' {
    const { method, path, form } = request;
    if (method === 'POST' && path === '/v1/payment_methods') {
      const paymentMethod = TOKENS[form.get('card[token]') ?? ''];
      if (form.get('type') !== 'card' || !paymentMethod) {
        return stripeError(400, { type: 'invalid_request_error', code: 'resource_missing', param: 'card[token]', message: `No such token: '${form.get('card[token]')}'` });
      }
      return { status: 200, body: paymentMethod };
    }
    const retrieve = /^\/v1\/payment_methods\/([^/]+)$/.exec(path);
    if (method === 'GET' && retrieve) {
      const paymentMethod = PAYMENT_METHODS[retrieve[1]!];
      if (!paymentMethod) return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such PaymentMethod: '${retrieve[1]}'` });
      return { status: 200, body: paymentMethod };
    }
    const attach = /^\/v1\/payment_methods\/([^/]+)\/attach$/.exec(path);
    if (method === 'POST' && attach) {
      const paymentMethod = Object.values(TOKENS).find((candidate) => candidate.id === attach[1]);
      if (!paymentMethod) return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', message: 'No such PaymentMethod' });
      return { status: 200, body: { ...paymentMethod, customer: form.get('customer') } };
    }
    if (method === 'POST' && path === '/v1/customers') {
      return { status: 200, body: { id: `cus_${++this.sequence}`, object: 'customer', metadata: { tenant_id: form.get('metadata[tenant_id]') } } };
    }
    if (method === 'POST' && path === '/v1/payment_intents') return this.paymentIntent(request);
    if (method === 'POST' && path === '/v1/refunds') {
      const amount = Number(form.get('amount'));
      return {
        status: 200,
        body: { id: `re_${++this.sequence}`, object: 'refund', amount, currency: 'usd', payment_intent: form.get('payment_intent'), status: 'succeeded' },
      };
    }
    return stripeError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
  }

  private paymentIntent({ form, headers }: SeenRequest): Answer | 'hang-up' {
    const paymentMethod = form.get('payment_method') ?? '';
    const intent = (status: string, extra: Record<string, unknown> = {}) => ({
      id: `pi_${++this.sequence}`,
      object: 'payment_intent',
      amount: Number(form.get('amount')),
      currency: form.get('currency'),
      customer: form.get('customer'),
      payment_method: paymentMethod,
      status,
      ...extra,
    });
    const flaky = /^pm_flaky_(\d)$/.exec(paymentMethod);
    if (flaky) {
      const key = String(headers['idempotency-key']);
      const left = this.failuresLeft.get(key) ?? Number(flaky[1]);
      this.failuresLeft.set(key, left - 1);
      if (left > 0) return stripeError(500, { type: 'api_error', message: 'An unknown error occurred.' });
      return { status: 200, body: intent('succeeded') };
    }
    switch (paymentMethod) {
      case 'pm_declined':
        return stripeError(402, {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
          payment_intent: intent('requires_payment_method'),
        });
      case 'pm_auth':
        if (form.get('off_session') === 'true') {
          return stripeError(402, {
            type: 'card_error',
            code: 'authentication_required',
            decline_code: 'authentication_required',
            message: 'Your card was declined. This transaction requires authentication.',
            payment_intent: intent('requires_payment_method'),
          });
        }
        return { status: 200, body: intent('requires_action', { next_action: { type: 'use_stripe_sdk' } }) };
      case 'pm_outage':
        return stripeError(500, { type: 'api_error', message: 'An unknown error occurred.' });
      case 'pm_busy':
        return stripeError(429, { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' });
      case 'pm_hang_up':
        return 'hang-up';
      default:
        return { status: 200, body: intent('succeeded') };
    }
  }
}

let standIn: StripeStandIn;
let gateway: CardGateway;

beforeAll(async () => {
  standIn = new StripeStandIn();
  await standIn.start();
  gateway = createStripeGateway({ apiKey: API_KEY, apiBase: standIn.url, maxNetworkRetries: 0 });
});
afterAll(async () => {
  await standIn.stop();
});

let keySequence = 0;
function chargeOf(overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  return {
    idempotencyKey: `prepay-${Date.now()}-cycle-${++keySequence}`,
    cardRef: 'pm_visa',
    amount: new Dec('12.34'),
    currency: 'USD',
    offSession: true,
    description: 'Prepayment 7, month 1',
    customerRef: 'cus_existing',
    ...overrides,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const reason = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(reason).toBeInstanceOf(Error);
  return reason as Error;
}

const since = (count: number) => standIn.seen.slice(count);

describe('tokenise', () => {
  it('turns a token into a PaymentMethod attached to a new Customer of the tenant', async () => {
    const before = standIn.seen.length;
    const tokenised = await gateway.tokenise('tok_visa', 'team-42');
    expect(tokenised).toEqual({ gatewayRef: 'pm_from_tok_visa', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2034, customerRef: expect.stringMatching(/^cus_/) });

    const requests = since(before);
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/payment_methods',
      'POST /v1/customers',
      'POST /v1/payment_methods/pm_from_tok_visa/attach',
    ]);
    expect(Object.fromEntries(requests[0]!.form)).toEqual({ type: 'card', 'card[token]': 'tok_visa' });
    expect(requests[1]!.form.get('metadata[tenant_id]')).toBe('team-42');
    expect(requests[1]!.headers['idempotency-key']).toBe('customer-for-pm_from_tok_visa');
    expect(requests[2]!.form.get('customer')).toBe(tokenised.customerRef);
    for (const request of requests) expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('reads a PaymentMethod id directly and keeps the Customer it already has', async () => {
    const before = standIn.seen.length;
    expect(await gateway.tokenise('pm_visa', 'team-42')).toEqual({
      gatewayRef: 'pm_visa',
      brand: 'visa',
      last4: '4242',
      expMonth: 12,
      expYear: 2034,
      customerRef: 'cus_existing',
    });
    expect(since(before).map((request) => `${request.method} ${request.path}`)).toEqual(['GET /v1/payment_methods/pm_visa']);
  });

  it('answers InvalidCardTokenError for a token Stripe does not know', async () => {
    await expect(gateway.tokenise('tok_bogus', 'team-42')).rejects.toThrow(InvalidCardTokenError);
    await expect(gateway.tokenise('pm_missing', 'team-42')).rejects.toThrow(InvalidCardTokenError);
  });
});

describe('charge', () => {
  it('confirms one PaymentIntent for the amount in cents, under the engine idempotency key', async () => {
    const before = standIn.seen.length;
    const request = chargeOf();
    const result = await gateway.charge(request);
    expect(result.chargeId).toMatch(/^pi_/);
    expect(result.amount.eq('12.34')).toBe(true);

    const [sent, ...more] = since(before);
    expect(more).toHaveLength(0);
    expect(sent!.method).toBe('POST');
    expect(sent!.path).toBe('/v1/payment_intents');
    expect(sent!.headers['idempotency-key']).toBe(request.idempotencyKey);
    expect(sent!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(sent!.form)).toEqual({
      amount: '1234',
      currency: 'usd',
      payment_method: 'pm_visa',
      'allowed_payment_method_types[0]': 'card',
      confirm: 'true',
      off_session: 'true',
      customer: 'cus_existing',
      description: 'Prepayment 7, month 1',
      'metadata[idempotency_key]': request.idempotencyKey,
    });

    // a retry with the same key is replayed by Stripe: the same PaymentIntent, nothing charged again
    const replay = await gateway.charge(request);
    expect(replay.chargeId).toBe(result.chargeId);
  });

  it('sends whole cents for every amount and never a fraction', async () => {
    const before = standIn.seen.length;
    await gateway.charge(chargeOf({ amount: new Dec('0.5') }));
    await gateway.charge(chargeOf({ amount: new Dec('1000000.01') }));
    expect(since(before).map((request) => request.form.get('amount'))).toEqual(['50', '100000001']);
    await expect(gateway.charge(chargeOf({ amount: new Dec('1.005') }))).rejects.toThrow(RangeError);
    expect(standIn.seen.length).toBe(before + 2);
  });

  it('omits off_session for an on-session charge, and finds the card’s Customer when none is given', async () => {
    const before = standIn.seen.length;
    await gateway.charge(chargeOf({ offSession: false, customerRef: undefined }));
    const [lookup, create] = since(before);
    expect(`${lookup!.method} ${lookup!.path}`).toBe('GET /v1/payment_methods/pm_visa');
    expect(create!.form.has('off_session')).toBe(false);
    expect(create!.form.get('confirm')).toBe('true');
    expect(create!.form.get('customer')).toBe('cus_existing');
  });

  it('maps a 402 card_error to CardDeclinedError with the decline code, and replays it for the same key', async () => {
    const request = chargeOf({ cardRef: 'pm_declined' });
    const declined = await rejectionOf(gateway.charge(request));
    expect(declined).toBeInstanceOf(CardDeclinedError);
    expect((declined as CardDeclinedError).declineCode).toBe('insufficient_funds');
    expect(declined.message).toBe('Your card has insufficient funds.');
    const replay = await rejectionOf(gateway.charge(request));
    expect((replay as CardDeclinedError).declineCode).toBe('insufficient_funds');
  });

  it('declines a card that needs authentication off-session, and on-session when Stripe asks for an action', async () => {
    const offSession = await rejectionOf(gateway.charge(chargeOf({ cardRef: 'pm_auth', offSession: true })));
    expect(offSession).toBeInstanceOf(CardDeclinedError);
    expect((offSession as CardDeclinedError).declineCode).toBe('authentication_required');
    const onSession = await rejectionOf(gateway.charge(chargeOf({ cardRef: 'pm_auth', offSession: false })));
    expect(onSession).toBeInstanceOf(CardDeclinedError);
    expect((onSession as CardDeclinedError).declineCode).toBe('authentication_required');
  });

  it('answers InvalidCardTokenError for a card Stripe no longer knows, before any PaymentIntent', async () => {
    const before = standIn.seen.length;
    await expect(gateway.charge(chargeOf({ cardRef: 'pm_missing', customerRef: undefined }))).rejects.toThrow(InvalidCardTokenError);
    expect(standIn.to('POST', '/v1/payment_intents').filter((request) => standIn.seen.indexOf(request) >= before)).toHaveLength(0);
  });

  it.each([
    ['a 500 api_error', 'pm_outage'],
    ['a 429 rate limit', 'pm_busy'],
  ])('maps %s to GatewayUnavailableError', async (_what, cardRef) => {
    const outage = await rejectionOf(gateway.charge(chargeOf({ cardRef })));
    expect(outage).toBeInstanceOf(GatewayUnavailableError);
    expect(outage).not.toBeInstanceOf(CardDeclinedError);
  });

  it('maps a dropped connection to GatewayUnavailableError, the SDK retrying once with the same key', async () => {
    const before = standIn.seen.length;
    const request = chargeOf({ cardRef: 'pm_hang_up' });
    expect(await rejectionOf(gateway.charge(request))).toBeInstanceOf(GatewayUnavailableError);
    // the SDK retries a reset connection once even with maxNetworkRetries 0, and under the same key
    expect(since(before).map((attempt) => attempt.headers['idempotency-key'])).toEqual([request.idempotencyKey, request.idempotencyKey]);
  });

  it('maps a refused connection to GatewayUnavailableError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = createStripeGateway({ apiKey: API_KEY, apiBase: `http://127.0.0.1:${port}`, maxNetworkRetries: 0 });
    expect(await rejectionOf(unreachable.charge(chargeOf()))).toBeInstanceOf(GatewayUnavailableError);
  });

  it('with SDK retries on, rides out a 500 by retrying under the same idempotency key', async () => {
    const retrying = createStripeGateway({ apiKey: API_KEY, apiBase: standIn.url, maxNetworkRetries: 2 });
    const before = standIn.seen.length;
    const request = chargeOf({ cardRef: 'pm_flaky_1' });
    const result = await retrying.charge(request);
    expect(result.chargeId).toMatch(/^pi_/);
    const attempts = since(before);
    expect(attempts).toHaveLength(2);
    expect(attempts.map((attempt) => attempt.headers['idempotency-key'])).toEqual([request.idempotencyKey, request.idempotencyKey]);
  });

  it('refuses a reused key with another amount as an error that is neither a decline nor an outage', async () => {
    const request = chargeOf();
    await gateway.charge(request);
    const reused = await rejectionOf(gateway.charge({ ...request, amount: new Dec('12.35') }));
    expect(reused).not.toBeInstanceOf(CardDeclinedError);
    expect(reused).not.toBeInstanceOf(GatewayUnavailableError);
    expect(reused.message).toMatch(/idempotency key was already used with other parameters/);
  });

  it('treats a refused API key as an outage, not a decline', async () => {
    const misconfigured = createStripeGateway({ apiKey: 'sk_test_wrong', apiBase: standIn.url, maxNetworkRetries: 0 });
    const refused = await rejectionOf(misconfigured.charge(chargeOf()));
    expect(refused).toBeInstanceOf(GatewayUnavailableError);
    expect(refused.message).toMatch(/refused the API key/);
  });
});

describe('refund', () => {
  it('refunds part of a PaymentIntent in cents under the idempotency key, replaying a repeated key', async () => {
    const { chargeId } = await gateway.charge(chargeOf());
    const before = standIn.seen.length;
    const request = { idempotencyKey: `refund-${chargeId}-1`, chargeId, amount: new Dec('2.5') };
    const first = await gateway.refund(request);
    expect(first.refundId).toMatch(/^re_/);
    const [sent] = since(before);
    expect(`${sent!.method} ${sent!.path}`).toBe('POST /v1/refunds');
    expect(sent!.headers['idempotency-key']).toBe(request.idempotencyKey);
    expect(sent!.form.get('payment_intent')).toBe(chargeId);
    expect(sent!.form.get('amount')).toBe('250');
    expect(await gateway.refund(request)).toEqual(first);
  });
});

describe('configuration', () => {
  it('converts an amount to Stripe cents exactly, refusing fractions, non-positive and unsafe amounts', () => {
    expect(stripeAmount(new Dec('0.01'))).toBe(1);
    expect(stripeAmount(new Dec('12.34'))).toBe(1234);
    expect(stripeAmount(new Dec('90071992547409.91'))).toBe(9007199254740991);
    expect(() => stripeAmount(new Dec('90071992547409.92'))).toThrow(RangeError);
    expect(() => stripeAmount(new Dec('0'))).toThrow(RangeError);
    expect(() => stripeAmount(new Dec('0.001'))).toThrow(RangeError);
  });

  it('reads STRIPE_API_BASE into the SDK host, port and protocol', () => {
    expect(stripeHostOptions('http://127.0.0.1:12111')).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
    expect(stripeHostOptions('https://api.stripe.com')).toEqual({ host: 'api.stripe.com', port: 443, protocol: 'https' });
    expect(stripeHostOptions('http://[::1]:8080/')).toEqual({ host: '::1', port: 8080, protocol: 'http' });
    expect(() => stripeHostOptions('https://proxy.example.com/stripe')).toThrow(/must not have a path/);
  });

  it('chooses the gateway by CARD_GATEWAY and requires STRIPE_API_KEY for stripe', () => {
    const orm = {} as Orm;
    const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' };
    expect(createCardGateway(configSchema.parse(base), { orm }).name).toBe('sandbox');
    expect(createCardGateway(configSchema.parse({ ...base, CARD_GATEWAY: 'stripe', STRIPE_API_KEY: API_KEY, STRIPE_API_BASE: standIn.url }), { orm }).name).toBe('stripe');
    const missingKey = configSchema.safeParse({ ...base, CARD_GATEWAY: 'stripe' });
    expect(missingKey.success).toBe(false);
    expect(missingKey.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([['STRIPE_API_KEY', 'is required when CARD_GATEWAY=stripe']]);
    expect(configSchema.safeParse({ ...base, STRIPE_API_BASE: 'ftp://example.com' }).success).toBe(false);
  });
});

describe('error translation', () => {
  it("keeps Stripe's retry-later answers retryable and makes invalid requests permanent refusals", async () => {
    const { default: Stripe } = await import('stripe');
    const { translateStripeError } = await import('../../src/gateway/stripe-gateway.ts');
    const { GatewayRequestRefusedError } = await import('../../src/gateway/card-gateway.ts');
    const inUse = new Stripe.errors.StripeInvalidRequestError({
      type: 'invalid_request_error',
      code: 'idempotency_key_in_use',
      statusCode: 409,
      message: 'another request with this key is in progress',
    });
    expect(translateStripeError('charge', inUse)).toBeInstanceOf(GatewayUnavailableError);
    const lock = new Stripe.errors.StripeInvalidRequestError({ type: 'invalid_request_error', code: 'lock_timeout', statusCode: 400, message: 'lock timeout' });
    expect(translateStripeError('refund', lock)).toBeInstanceOf(GatewayUnavailableError);
    const tooSmall = new Stripe.errors.StripeInvalidRequestError({
      type: 'invalid_request_error',
      code: 'amount_too_small',
      statusCode: 400,
      message: 'Amount must be at least $0.50 usd',
    });
    expect(translateStripeError('charge', tooSmall)).toMatchObject({ name: 'GatewayRequestRefusedError', code: 'amount_too_small' });
    const reused = new Stripe.errors.StripeIdempotencyError({
      type: 'idempotency_error',
      statusCode: 400,
      message: 'Keys for idempotent requests can only be used with the same parameters',
    });
    expect(translateStripeError('charge', reused)).toBeInstanceOf(GatewayRequestRefusedError);
  });
});
