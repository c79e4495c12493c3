import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger.ts';
import type { Principal } from './middleware/auth.ts';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
    /** a fork of the ORM's EntityManager for this request only */
    em: EntityManager;
    principal?: Principal;
    rawBody?: string;
  }
}

/** The authenticated principal; routes behind `authenticate` always have one. */
export function principalOf(state: { principal?: Principal }): Principal {
  if (!state.principal) throw new Error('route mounted without authentication');
  return state.principal;
}
