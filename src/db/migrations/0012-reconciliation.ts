import { Migration } from '@mikro-orm/migrations';

/**
 * Reconciliation (decision 0080): a prepay or subscription row whose workflow closed without bringing
 * the row to an end (an operator pressed Terminate, the workflow failed or timed out) keeps its last
 * status, which is what the customer was last told; the reconciler records here how and when the
 * workflow closed, so that operators find the rows that need them (`where workflow_closed_status is not null`).
 */
export class Migration0012Reconciliation extends Migration {
  override name = '0012-reconciliation';

  override up(): void {
    this.addSql(`
      alter table prepays
        -- Temporal's close status of the prepay's workflow (TERMINATED, FAILED, TIMED_OUT, CANCELED, COMPLETED, NOT_FOUND)
        add column workflow_closed_status text,
        add column workflow_closed_at timestamptz,
        add constraint prepays_workflow_closed_check check ((workflow_closed_status is null) = (workflow_closed_at is null));
      create index prepays_workflow_closed_idx on prepays (id) where workflow_closed_status is not null;

      alter table subscriptions
        add column workflow_closed_status text,
        add column workflow_closed_at timestamptz,
        add constraint subscriptions_workflow_closed_check check ((workflow_closed_status is null) = (workflow_closed_at is null));
      create index subscriptions_workflow_closed_idx on subscriptions (id) where workflow_closed_status is not null;
    `);
  }
}
