import { Migration } from '@mikro-orm/migrations';

/**
 * Webhook delivery (decision 0098). An endpoint is a tenant's (`tenant_id`) or the platform's (null: every
 * tenant's events and the operator's own). Each event an endpoint should get is a row of
 * `webhook_deliveries`, written in the same transaction as the event (an outbox), and delivered by a
 * workflow per row and generation; every HTTP attempt is a row of `webhook_attempts`.
 */
export class Migration0017Webhooks extends Migration {
  override name = '0017-webhooks';

  override up(): void {
    this.addSql(`
      create table webhook_endpoints (
        id text primary key,
        tenant_id text references tenants(id),
        url text not null,
        description text not null default '',
        -- null: every event type
        event_types text[],
        -- Standard Webhooks secrets (whsec_…); during a rotation's overlap the previous one signs too
        secret text not null,
        previous_secret text,
        previous_secret_expires_at timestamptz,
        status text not null check (status in ('enabled', 'disabled', 'deleted')),
        disabled_reason text,
        -- the first failed attempt since the last delivered one: three days of it disable the endpoint
        failing_since timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        check ((previous_secret is null) = (previous_secret_expires_at is null))
      );
      create index webhook_endpoints_tenant_idx on webhook_endpoints (tenant_id) where status <> 'deleted';

      create table webhook_deliveries (
        endpoint_id text not null references webhook_endpoints(id),
        event_id text not null references events(id),
        -- a retry or replay asks for a new generation: a new workflow, and the old one stops at its next attempt
        generation integer not null default 1,
        status text not null check (status in ('pending', 'delivered', 'failed', 'canceled')),
        attempts integer not null default 0,
        last_attempt_at timestamptz,
        delivered_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (endpoint_id, event_id)
      );
      create index webhook_deliveries_pending_idx on webhook_deliveries (event_id) where status = 'pending';

      create table webhook_attempts (
        id bigserial primary key,
        endpoint_id text not null references webhook_endpoints(id),
        event_id text not null references events(id),
        generation integer not null,
        attempt integer not null,
        attempted_at timestamptz not null,
        status_code integer,
        latency_ms integer not null,
        error text,
        unique (endpoint_id, event_id, generation, attempt)
      );
      create index webhook_attempts_endpoint_idx on webhook_attempts (endpoint_id, attempted_at desc, id desc);
    `);
  }
}
