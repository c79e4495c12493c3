/**
 * The OpenAPI document: valid OpenAPI 3.1 (checked by a validator of the specification's own schemas), every
 * route the app mounts documented and every documented route mounted, and docs/openapi.json current.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createApp, mountedRoutes, type AppDeps } from '../../src/api/app.ts';
import { openApiDocument, openApiText } from '../../src/api/openapi/document.ts';
import { DEFAULT_WEBHOOK_SETTINGS } from '../../src/domain/webhooks.ts';
import { createLogger } from '../../src/logger.ts';
import { systemClock } from '../../src/domain/clock.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function documentedOperations(): string[] {
  return Object.entries(openApiDocument().paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((method) => (item as Record<string, unknown>)[method] !== undefined).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** The app as the API builds it; nothing here connects to anything (the routes are only listed). */
function app() {
  const unused = {} as never;
  const deps: AppDeps = {
    orm: unused,
    temporal: unused,
    logger: createLogger('silent'),
    clock: systemClock,
    priceFeed: unused,
    gateway: unused,
    settings: {
      operatorApiKey: undefined,
      taskQueue: 'q',
      quoteTtlSeconds: 900,
      bodyLimitBytes: 65536,
      workflowWaitSeconds: 1,
      chain: null,
      watcherSigningSecret: undefined,
      webhooks: DEFAULT_WEBHOOK_SETTINGS,
    },
  };
  return createApp(deps);
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(openApiDocument()) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents every route the app mounts, and only those', () => {
    const mounted = mountedRoutes(app()).map(({ method, path }) => `${method} ${path.replace(/:([a-z_]+)/g, '{$1}')}`);
    expect(mounted.length).toBeGreaterThan(50);
    expect([...new Set(mounted)].sort()).toEqual(documentedOperations().sort());
  });

  it('names (uniquely), describes and secures every operation', () => {
    for (const [path, item] of Object.entries(openApiDocument().paths ?? {})) {
      for (const method of METHODS) {
        const operation = (item as Record<string, { operationId?: string; summary?: string; tags?: string[]; security?: unknown[]; responses?: object } | undefined>)[method];
        if (!operation) continue;
        expect({
          at: `${method} ${path}`,
          id: typeof operation.operationId,
          summary: typeof operation.summary,
          tags: operation.tags?.length,
          security: Array.isArray(operation.security),
        }).toEqual({
          at: `${method} ${path}`,
          id: 'string',
          summary: 'string',
          tags: 1,
          security: true,
        });
      }
    }
    const ids = Object.values(openApiDocument().paths ?? {}).flatMap((item) =>
      METHODS.map((method) => (item as Record<string, { operationId?: string } | undefined>)[method]?.operationId).filter((id) => id !== undefined),
    );
    expect(ids.length).toBe(documentedOperations().length);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is what docs/openapi.json holds (run `npm run openapi` after changing a route)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../docs/openapi.json', import.meta.url)), 'utf8');
    expect(committed === openApiText()).toBe(true);
  });
});
