/** A team's events (DESIGN §7): what the hosting platform acts on, newest first, paginated. */
import type { Router } from '@koa/router';
import { z } from 'zod';
import { notFound } from '../../domain/errors.ts';
import { formatTimestamp } from '../format.ts';
import { parseWith } from '../validation.ts';
import { teamOf } from './prepays.ts';

const ListEventsQuery = z.strictObject({
  limit: z.coerce.number({ error: 'must be an integer between 1 and 100' }).int('must be an integer between 1 and 100').min(1, 'must be an integer between 1 and 100').max(100, 'must be an integer between 1 and 100').default(20),
  starting_after: z.string().min(1).max(64).optional(),
  type: z.string().min(1).max(64).optional(),
});

interface EventRow {
  id: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

export function mountEventRoutes(router: Router): void {
  router.get('/teams/:team_id/events', async (ctx) => {
    const teamId = await teamOf(ctx);
    const query = parseWith(ListEventsQuery, ctx.query);
    const em = ctx.state.em;
    let cursor: EventRow | undefined;
    if (query.starting_after) {
      [cursor] = await em.execute<EventRow[]>('select id, type, data, created_at from events where id = ? and tenant_id = ?', [query.starting_after, teamId]);
      if (!cursor) throw notFound(`Event ${query.starting_after}`, 'starting_after');
    }
    const rows = await em.execute<EventRow[]>(
      `select id, type, data, created_at from events
        where tenant_id = ? and (?::text is null or type = ?)
          and (?::timestamptz is null or (created_at, id) < (?::timestamptz, ?))
        order by created_at desc, id desc limit ?`,
      [teamId, query.type ?? null, query.type ?? null, cursor?.created_at ?? null, cursor?.created_at ?? null, cursor?.id ?? null, query.limit + 1],
    );
    ctx.body = {
      events: rows.slice(0, query.limit).map((row) => ({ id: row.id, type: row.type, created_at: formatTimestamp(new Date(row.created_at)), data: row.data })),
      has_more: rows.length > query.limit,
    };
  });
}
