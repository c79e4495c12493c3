/**
 * The engine's configuration: one zod schema over the environment, parsed once by each composition
 * root. A bad or missing variable stops start-up with a message naming it.
 */
import { z } from 'zod';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from './domain/webhooks.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const evmAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

export const configSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /** the API's listen address: 127.0.0.1 in development, every interface in production, unless set */
    HOST: z.string().min(1).optional(),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
    TEMPORAL_ADDRESS: z
      .string()
      .min(1)
      .regex(/^[^\s:]+:\d+$/, 'must be host:port')
      .default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('payment-engine'),
    OPERATOR_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
    /** `static`: rates operators set (PUT /operator/v1/rates); `http`: a CoinGecko-style simple-price endpoint. */
    PRICE_FEED: z.enum(['static', 'http']).default('static'),
    /** Base URL of the http price feed (`{base}/simple/price?ids=…`). */
    PRICE_FEED_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** An http feed reading older than this is stale: token quotes then answer 503 price_unavailable. */
    PRICE_FEED_MAX_AGE_SECONDS: positiveInt(300),
    QUOTE_TTL_SECONDS: positiveInt(15 * 60),
    BODY_LIMIT_BYTES: positiveInt(64 * 1024),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    /** A workflow bundle built ahead of time by `npm run build`; without it the worker bundles at start. */
    WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
    SHUTDOWN_GRACE_SECONDS: positiveInt(30),
    /**
     * Workflows a worker keeps in memory between their tasks (the SDK's sticky cache, decisions 0110 and 0112).
     * Each costs a few hundred KiB; a prepay waits months between tasks, and one evicted is replayed from its history.
     */
    WORKER_MAX_CACHED_WORKFLOWS: positiveInt(200),
    /** How long a money request waits for its workflow's outcome before answering 202 pending. */
    WORKFLOW_WAIT_SECONDS: positiveInt(25),
    /** How many times the API tries a Temporal call that finds the server unavailable (about 1 s for 4) before answering 503. */
    API_TEMPORAL_ATTEMPTS: positiveInt(4),
    /** A paid prepay not bound to an app within this is refunded (DESIGN §5: 7 days). */
    PREPAY_BINDING_TIMEOUT_SECONDS: positiveInt(7 * 24 * 3600),
    /** How long before the end of a prepay's period the `prepay.renewal_upcoming` event is recorded. */
    PREPAY_RENEWAL_NOTICE_SECONDS: positiveInt(7 * 24 * 3600),
    /** A token prepay whose renewal the team's token balance cannot pay waits this long for a deposit, then expires. */
    PREPAY_TOKEN_RENEWAL_GRACE_SECONDS: positiveInt(7 * 24 * 3600),
    /** After a token payment's deadline, how long a transfer mined before it may still reach the confirmation depth and count (0: none). */
    PREPAY_TOKEN_CONFIRMATION_GRACE_SECONDS: z.coerce
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(0, 'must be 0 or more')
      .default(30 * 60),
    CARD_GATEWAY: z.enum(['sandbox', 'stripe']).default('sandbox'),
    STRIPE_API_KEY: z.string().min(1).optional(),
    /** The Stripe API's base URL (a regional endpoint, a proxy, or a local stand-in in tests). */
    STRIPE_API_BASE: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** The EVM chain of the token payments (docs/tokens.md); without it token features answer 503. */
    CHAIN_ID: z.coerce.number().int().positive().optional(),
    /** JSON-RPC of that chain, for the built-in watcher (`npm run watcher`); with it the watcher route checks each report against the node (decision 0102). */
    CHAIN_RPC_URL: z.url({ protocol: /^(https?|wss?)$/, error: 'must be an http(s) or ws(s) URL' }).optional(),
    /** Extended public key (xpub) from which deposit addresses are derived, index = pre_pay_id. */
    DEPOSIT_XPUB: z
      .string()
      .regex(/^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$/, 'must be a BIP32 extended public key (xpub…)')
      .optional(),
    TOKEN_ANKR_ERC20_ADDRESS: evmAddress.optional(),
    TOKEN_USDT_ERC20_ADDRESS: evmAddress.optional(),
    /** Blocks a transfer needs (its own counts as one) before it is credited, or `finalized` for the chain's finalized tag. */
    CHAIN_CONFIRMATIONS: z.union([z.literal('finalized'), z.coerce.number().int().min(1).max(10_000)]).default(12),
    /** HMAC secret of `X-Watcher-Signature` on POST /v2alpha/watchers/transfers. */
    WATCHER_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Most blocks one eth_getLogs call asks for. */
    WATCHER_BLOCK_RANGE: positiveInt(1000),
    WATCHER_POLL_SECONDS: z.coerce.number().positive().max(3600).default(12),
    /** Where the watcher starts when it has no cursor yet; default: the current confirmed head. */
    WATCHER_START_BLOCK: z.coerce.number().int().min(0).optional(),
    /** The worker serves the Temporal SDK's Prometheus metrics (and the engine's money counters) on this port; off when unset (decision 0099). */
    WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** The address the worker's metrics port binds to; loopback unless a scraper on another host must reach it. */
    WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** the watcher process's Prometheus endpoint (`/metrics`); blank: none */
    WATCHER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    WATCHER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** `on`: the worker creates (or updates) the `reconcile` Temporal Schedule at start-up (decision 0080). */
    RECONCILE_SCHEDULE: z.enum(['on', 'off']).default('on'),
    /** Seconds between two runs of the reconciliation schedule. */
    RECONCILE_INTERVAL_SECONDS: positiveInt(300),
    /** A prepay or subscription row this old without its workflow is repaired; a signalled transfer this old is checked. */
    RECONCILE_GRACE_SECONDS: positiveInt(600),
    /**
     * This installation's id (decision 0090): names the database on its first start (generated when unset);
     * afterwards, when set, it must match the database's, so a process never runs against another installation.
     */
    ENGINE_INSTANCE_ID: z
      .string()
      .regex(/^[a-z0-9]{1,16}$/, 'must be 1–16 lower-case letters and digits')
      .optional(),
    /** `true`: start even when the Temporal namespace runs another installation's workflows (decision 0090). */
    ENGINE_ALLOW_FOREIGN_WORKFLOWS: z.enum(['true', 'false']).default('false'),
    /** `on`: tenant keys are rate limited per key and route class, counted in PostgreSQL (decision 0091). */
    RATE_LIMIT: z.enum(['on', 'off']).default('on'),
    RATE_LIMIT_WINDOW_SECONDS: positiveInt(60),
    /** requests per window and tenant key: price quotes */
    RATE_LIMIT_QUOTES: positiveInt(120),
    /** requests per window and tenant key: POST, PUT and DELETE (payments, bindings, cards, cancels) */
    RATE_LIMIT_MONEY: positiveInt(300),
    /** requests per window and tenant key: GET */
    RATE_LIMIT_READS: positiveInt(1200),
    /** `true`: webhooks may target loopback, private and link-local addresses (development and tests only; decision 0098). */
    WEBHOOK_ALLOW_PRIVATE_TARGETS: z.enum(['true', 'false']).default('false'),
    /** Seconds before each delivery attempt, comma-separated; by default immediately, 5 s, 5 min, … for about 3 days. */
    WEBHOOK_RETRY_SCHEDULE_SECONDS: z
      .string()
      .regex(/^\d+(,\d+)*$/, 'must be comma-separated whole seconds')
      .transform((value) => value.split(',').map(Number))
      .optional(),
    /** One delivery attempt's whole time. */
    WEBHOOK_TIMEOUT_SECONDS: positiveInt(10),
    /** An endpoint whose every attempt failed for this long is disabled. */
    WEBHOOK_DISABLE_AFTER_SECONDS: positiveInt(3 * 24 * 3600),
  })
  .refine((config) => config.CARD_GATEWAY !== 'stripe' || config.STRIPE_API_KEY !== undefined, {
    message: 'is required when CARD_GATEWAY=stripe',
    path: ['STRIPE_API_KEY'],
  })
  .refine((config) => config.PRICE_FEED !== 'http' || config.PRICE_FEED_URL !== undefined, {
    message: 'is required when PRICE_FEED=http',
    path: ['PRICE_FEED_URL'],
  })
  .refine((config) => config.CHAIN_ID !== undefined || (config.CHAIN_RPC_URL === undefined && config.DEPOSIT_XPUB === undefined), {
    message: 'is required when CHAIN_RPC_URL or DEPOSIT_XPUB is set',
    path: ['CHAIN_ID'],
  })
  .refine((config) => config.CHAIN_RPC_URL === undefined || config.TOKEN_ANKR_ERC20_ADDRESS !== undefined || config.TOKEN_USDT_ERC20_ADDRESS !== undefined, {
    message: 'or TOKEN_USDT_ERC20_ADDRESS is required when CHAIN_RPC_URL is set',
    path: ['TOKEN_ANKR_ERC20_ADDRESS'],
  })
  .refine((config) => config.NODE_ENV !== 'production' || config.DEPOSIT_XPUB !== DEV_DEPOSIT_XPUB, {
    message: 'is the development key of `npm start` (its mnemonic is published): anyone could spend what is paid to it',
    path: ['DEPOSIT_XPUB'],
  });

/**
 * The deposit key `npm start` uses on its local chain: the account node m/44'/60'/0'/0 of the published BIP39
 * test mnemonic "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
 * (test/unit/chain-config.test.ts derives it again). Development only: refused when NODE_ENV=production.
 */
export const DEV_DEPOSIT_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
export const DEV_DEPOSIT_XPUB = 'xpub6EF8jXqFeFEW5bwMU7RpQtHkzE4KJxcqJtvkCjJumzW8CPpacXkb92ek4WzLQXjL93HycJwTPUAcuNxCqFPKKU5m5Z2Vq4nCyh5CyPeBFFr';

export type Config = z.infer<typeof configSchema>;

export type WebhookConfigKey = 'WEBHOOK_ALLOW_PRIVATE_TARGETS' | 'WEBHOOK_RETRY_SCHEDULE_SECONDS' | 'WEBHOOK_TIMEOUT_SECONDS' | 'WEBHOOK_DISABLE_AFTER_SECONDS';

/** Webhook delivery's settings from the configuration; https only in production. */
export function webhookSettings(config: Partial<Pick<Config, WebhookConfigKey | 'NODE_ENV'>>): WebhookSettings {
  return {
    ...DEFAULT_WEBHOOK_SETTINGS,
    scheduleSeconds: config.WEBHOOK_RETRY_SCHEDULE_SECONDS ?? DEFAULT_WEBHOOK_SETTINGS.scheduleSeconds,
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS ? config.WEBHOOK_TIMEOUT_SECONDS * 1000 : DEFAULT_WEBHOOK_SETTINGS.timeoutMs,
    disableAfterMs: config.WEBHOOK_DISABLE_AFTER_SECONDS ? config.WEBHOOK_DISABLE_AFTER_SECONDS * 1000 : DEFAULT_WEBHOOK_SETTINGS.disableAfterMs,
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true',
    requireHttps: config.NODE_ENV === 'production',
  };
}

export class ConfigError extends Error {
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((line) => `  - ${line}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError that names every bad or missing variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blankless = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = configSchema.safeParse(blankless);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const message = issue.code === 'invalid_type' && env[name] === undefined ? 'is required but not set' : issue.message;
        return `${name} ${message}`;
      }),
    );
  }
  return parsed.data;
}
