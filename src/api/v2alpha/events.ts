/** A team's events: what the hosting platform acts on, newest first, paginated; times to the millisecond, as webhooks send them. */
import type { Router } from '@koa/router';
import { z } from 'zod';
import { listTenantEvents } from '../../db/repositories/events.ts';
import { notFound } from '../../domain/errors.ts';
import { pageLimit, parseWith } from '../validation.ts';
import { teamOf } from '../tenancy.ts';

export const ListEventsQuery = z.strictObject({
  limit: pageLimit,
  starting_after: z.string().min(1).max(64).optional(),
  type: z.string().min(1).max(64).optional(),
});

export function mountEventRoutes(router: Router): void {
  router.get('/teams/:team_id/events', async (ctx) => {
    const teamId = await teamOf(ctx);
    const query = parseWith(ListEventsQuery, ctx.query);
    const page = await listTenantEvents(ctx.state.em, teamId, { type: query.type, startingAfter: query.starting_after, limit: query.limit });
    if (!page) throw notFound(`Event ${query.starting_after}`, 'starting_after');
    ctx.body = {
      events: page.events.map((row) => ({ id: row.id, type: row.type, created_at: row.createdAt.toISOString(), data: row.data })),
      has_more: page.hasMore,
    };
  });
}
