import { Router } from '@koa/router';
import type { Client } from '@temporalio/client';
import { pingDatabase, type Orm } from '../db/orm.ts';
import { AppError } from '../domain/errors.ts';

/** `/healthz`: the process is up. `/readyz`: PostgreSQL and Temporal both answer. Neither needs a key. */
export function healthRouter(deps: { orm: Orm; temporal: Client }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const [database, temporal] = await Promise.all([probe(() => pingDatabase(deps.orm)), probe(() => deps.temporal.workflowService.getSystemInfo({}))]);
    if (!database || !temporal) {
      throw new AppError('service_unavailable', `Not ready: ${[!database && 'PostgreSQL', !temporal && 'Temporal'].filter(Boolean).join(' and ')} unreachable.`, {
        details: { checks: { database, temporal } },
      });
    }
    ctx.body = { status: 'ready', checks: { database, temporal } };
  });
  return router;
}

async function probe(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3000).unref())]);
    return true;
  } catch {
    return false;
  }
}
