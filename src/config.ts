/**
 * The engine's configuration: one zod schema over the environment, parsed once by each composition
 * root. A bad or missing variable stops start-up with a message naming it.
 */
import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z
  .object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
  TEMPORAL_ADDRESS: z.string().min(1).regex(/^[^\s:]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('payment-engine'),
  OPERATOR_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  PRICE_FEED: z.enum(['static']).default('static'),
  QUOTE_TTL_SECONDS: positiveInt(15 * 60),
  BODY_LIMIT_BYTES: positiveInt(64 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** A workflow bundle built ahead of time by `npm run build`; without it the worker bundles at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  SHUTDOWN_GRACE_SECONDS: positiveInt(30),
  /** How long a money request waits for its workflow's outcome before answering 202 pending. */
  WORKFLOW_WAIT_SECONDS: positiveInt(25),
  CARD_GATEWAY: z.enum(['sandbox', 'stripe']).default('sandbox'),
  STRIPE_API_KEY: z.string().min(1).optional(),
  /** The Stripe API's base URL (a regional endpoint, a proxy, or a local stand-in in tests). */
  STRIPE_API_BASE: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
})
  .refine((config) => config.CARD_GATEWAY !== 'stripe' || config.STRIPE_API_KEY !== undefined, {
    message: 'is required when CARD_GATEWAY=stripe',
    path: ['STRIPE_API_KEY'],
  });

export type Config = z.infer<typeof configSchema>;

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
