/**
 * The start-up check of the Temporal namespace (decision 0090). An API or worker process refuses to start:
 *
 * * when the namespace lacks the `EngineInstallation` search attribute (every start would fail);
 * * when the namespace runs money workflows of another installation: their activities would run against
 *   this database (a reset database beside a kept Temporal, staging pointed at production's namespace),
 *   unless ENGINE_ALLOW_FOREIGN_WORKFLOWS=true (a namespace knowingly shared, each installation on its own
 *   task queue);
 * * when the namespace holds prepays of this installation with ids the database has not handed out yet:
 *   the database was restored from a backup older than Temporal's state, and its next prepays would
 *   collide with the ones it lost.
 */
import { WORKFLOW_TYPES } from './workflow-types.ts';
import type { Client } from '@temporalio/client';
import type { Orm } from '../db/orm.ts';
import { claimInstallation, lastPrepayId } from '../db/repositories/installation.ts';
import { INSTALLATION_SEARCH_ATTRIBUTE_NAME, type Installation } from '../domain/installation.ts';

/** The workflows that move money or hold a tenant's state; a foreign one running here is a hazard. */
export const MONEY_WORKFLOW_TYPES: string[] = [
  WORKFLOW_TYPES.prepay,
  WORKFLOW_TYPES.abandonedPrepay,
  WORKFLOW_TYPES.subscription,
  WORKFLOW_TYPES.recharge,
  WORKFLOW_TYPES.refund,
  WORKFLOW_TYPES.creditTransfer,
];

export class NamespaceCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NamespaceCheckError';
  }
}

export interface NamespaceCheckInput {
  installation: Installation;
  /** the highest prepay id the database has handed out (0 when none) */
  lastPrepayId: number;
  allowForeign: boolean;
}

export interface NamespaceCheckResult {
  /** running money workflows of other installations (0 unless allowed) */
  foreignRunning: number;
}

export async function checkNamespace(client: Client, input: NamespaceCheckInput): Promise<NamespaceCheckResult> {
  const { installation } = input;
  const attributes = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
  if (!(INSTALLATION_SEARCH_ATTRIBUTE_NAME in (attributes.customAttributes ?? {}))) {
    throw new NamespaceCheckError(
      `The Temporal namespace ${client.options.namespace} has no search attribute ${INSTALLATION_SEARCH_ATTRIBUTE_NAME}; register it first: ` +
        `temporal operator search-attribute create --namespace ${client.options.namespace} --name ${INSTALLATION_SEARCH_ATTRIBUTE_NAME} --type Keyword`,
    );
  }
  const types = MONEY_WORKFLOW_TYPES.map((type) => `'${type}'`).join(', ');
  const running = `ExecutionStatus = 'Running' AND WorkflowType IN (${types})`;
  const count = async (query: string) => Number((await client.workflow.count(query)).count);
  // A legacy installation's own early workflows carry no attribute; for a new one, such workflows are another engine's.
  const foreign = installation.legacy
    ? `${running} AND ${INSTALLATION_SEARCH_ATTRIBUTE_NAME} IS NOT NULL AND ${INSTALLATION_SEARCH_ATTRIBUTE_NAME} != '${installation.id}'`
    : `${running} AND (${INSTALLATION_SEARCH_ATTRIBUTE_NAME} IS NULL OR ${INSTALLATION_SEARCH_ATTRIBUTE_NAME} != '${installation.id}')`;
  const foreignRunning = await count(foreign);
  if (foreignRunning > 0 && !input.allowForeign) {
    throw new NamespaceCheckError(
      `The Temporal namespace ${client.options.namespace} runs ${foreignRunning} money workflow(s) of another installation than this database's (${installation.id}): ` +
        `was the database reset, or is this process pointed at another environment's Temporal? Their activities would run against this database. ` +
        `Use the namespace (or Temporal state) that belongs to this database, or set ENGINE_ALLOW_FOREIGN_WORKFLOWS=true if the namespace is shared on purpose (each installation on its own task queue). ` +
        `Find them with: temporal workflow list --query "${foreign.replaceAll('"', '\\"')}"`,
    );
  }
  const own = installation.legacy
    ? `(${INSTALLATION_SEARCH_ATTRIBUTE_NAME} = '${installation.id}' OR ${INSTALLATION_SEARCH_ATTRIBUTE_NAME} IS NULL)`
    : `${INSTALLATION_SEARCH_ATTRIBUTE_NAME} = '${installation.id}'`;
  const ahead = `PrePayId > ${input.lastPrepayId} AND ${own}`;
  const aheadCount = await count(ahead);
  if (aheadCount > 0) {
    throw new NamespaceCheckError(
      `Temporal holds ${aheadCount} prepay workflow(s) of this installation (${installation.id}) with ids above the database's last prepay id ${input.lastPrepayId}: ` +
        `the database was restored from a backup older than Temporal's state. New prepays would reuse those ids. ` +
        `Reconcile the lost prepays (temporal workflow list --query "${ahead.replaceAll('"', '\\"')}"), then advance the sequence past the highest of them (select setval('prepay_ids', <highest id>)) and start again.`,
    );
  }
  return { foreignRunning };
}

/**
 * What every API and worker process does before it serves: name (or confirm) the database's installation,
 * then check the namespace. Answers the installation, for the start-up log line.
 */
export async function prepareInstallation(
  client: Client,
  orm: Orm,
  config: { ENGINE_INSTANCE_ID?: string; ENGINE_ALLOW_FOREIGN_WORKFLOWS: 'true' | 'false' },
): Promise<Installation & NamespaceCheckResult> {
  const installation = await claimInstallation(orm, config.ENGINE_INSTANCE_ID);
  const result = await checkNamespace(client, { installation, lastPrepayId: await lastPrepayId(orm), allowForeign: config.ENGINE_ALLOW_FOREIGN_WORKFLOWS === 'true' });
  return { ...installation, ...result };
}
