import { Migration } from '@mikro-orm/migrations';

/** Events the hosting platform acts on (DESIGN §7), recorded once each with a stable id. */
export class Migration0003Events extends Migration {
  override name = '0003-events';

  override up(): void {
    this.addSql(`
      create table events (
        id text primary key,
        tenant_id text references tenants(id),
        type text not null,
        data jsonb not null default '{}',
        created_at timestamptz not null default now()
      );
      create index events_tenant_idx on events (tenant_id, created_at desc, id desc);
      create index events_type_idx on events (type, created_at desc);
    `);
  }
}
