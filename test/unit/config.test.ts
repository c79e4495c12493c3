import { ConfigError, loadConfig } from '../../src/config.ts';

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
});
