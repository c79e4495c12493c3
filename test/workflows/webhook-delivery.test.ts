/**
 * The webhook delivery workflow on its default schedule (immediately, 5 s, 5 min, …, every 12 h: about three
 * days) on Temporal's time-skipping server, against a real HTTP receiver: down for two days then up, the
 * event arrives; down for four days, the endpoint is disabled and the operator's event recorded. Every
 * delivery is verified with the standardwebhooks package; every history replays, and the recorded ones too.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import { insertEvent } from '../../src/db/repositories/events.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { createEndpoint, fanOutEvent } from '../../src/db/repositories/webhooks.ts';
import { DEFAULT_WEBHOOK_SETTINGS } from '../../src/domain/webhooks.ts';
import { startWebhookDelivery, webhookDeliveryWorkflowId } from '../../src/temporal/webhooks.ts';
import { newSigningSecret } from '../../src/webhooks/signing.ts';
import type { webhookDeliveryWorkflow } from '../../src/workflows/webhook-delivery.ts';
import { sql } from '../helpers/db.ts';
import { createTeam, FIXTURES, startPrepayHarness, type PrepayHarness } from '../helpers/prepay-harness.ts';
import { until } from '../helpers/wait.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

let harness: PrepayHarness;
let hooks: WebhookReceiver;
let up = false;
beforeAll(async () => {
  harness = await startPrepayHarness({ webhooks: { ...DEFAULT_WEBHOOK_SETTINGS, allowPrivateTargets: true } });
  hooks = await startWebhookReceiver();
  hooks.respond = (_n, _request, response) => response.writeHead(up ? 200 : 503).end();
});
afterAll(async () => {
  await hooks?.close();
  await harness?.close();
});

const HistoryProto = proto.temporal.api.history.v1.History;

async function replayAndRecord(workflowId: string, scenario: string): Promise<void> {
  const history = await harness.env.client.workflow.getHandle(workflowId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: harness.bundle }, history, workflowId);
  if (process.env.PREPAY_RECORD_HISTORIES === '1') {
    writeFileSync(join(FIXTURES, `webhook-delivery-${scenario}.history.pb`), HistoryProto.encode(HistoryProto.fromObject(history)).finish());
  }
}

/** An endpoint of a new team and one event for it, its delivery started as recordEvent starts it. */
async function deliverOne(): Promise<{ endpointId: string; eventId: string; secret: string; workflowId: string; tenantId: string }> {
  const team = await createTeam(harness);
  const secret = newSigningSecret();
  const endpointId = `we_${team.tenantId}`;
  const eventId = `evt_${team.tenantId}`;
  const em = harness.orm.em.fork();
  await createEndpoint(em, { id: endpointId, tenantId: team.tenantId, url: hooks.url, description: '', eventTypes: null, secret }, new Date());
  await insertEvent(em, { id: eventId, tenantId: team.tenantId, type: 'prepay.paid', data: { pre_pay_id: 1 }, createdAt: new Date() });
  await fanOutEvent(em, { id: eventId, tenantId: team.tenantId, type: 'prepay.paid' }, new Date());
  const installation = await installationOf(harness.orm);
  const input = { endpointId, eventId, generation: 1, scheduleSeconds: [...DEFAULT_WEBHOOK_SETTINGS.scheduleSeconds] };
  await startWebhookDelivery(harness.env.client, installation, harness.taskQueue, input, team.tenantId);
  return { endpointId, eventId, secret, workflowId: webhookDeliveryWorkflowId(installation, input), tenantId: team.tenantId };
}

const requestsOf = (eventId: string) => hooks.received.filter((request) => request.headers['webhook-id'] === eventId);

describe('the default delivery schedule', () => {
  it('an endpoint down for two days gets the event when it is back', async () => {
    up = false;
    const delivery = await deliverOne();
    const handle = harness.env.client.workflow.getHandle<typeof webhookDeliveryWorkflow>(delivery.workflowId);
    await until(() => requestsOf(delivery.eventId).length >= 1);
    await harness.env.sleep('2 days');
    up = true;
    const result = await handle.result();
    expect(result.status).toBe('delivered');
    // attempts at 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 12 h failed (about 40 h); the one after two days answered
    expect(result.attempts).toBe(10);
    const requests = requestsOf(delivery.eventId);
    expect(requests).toHaveLength(10);
    for (const request of requests) new Webhook(delivery.secret).verify(request.body, request.headers);
    const [row] = await sql<{ status: string; attempts: number }>(harness.orm, 'select status, attempts from webhook_deliveries where event_id = ?', [delivery.eventId]);
    expect(row).toEqual({ status: 'delivered', attempts: 10 });
    await replayAndRecord(delivery.workflowId, 'down-two-days');
  });

  it('an endpoint down for four days is disabled after three, and the operator gets an event', async () => {
    up = false;
    const delivery = await deliverOne();
    const result = await harness.env.client.workflow.getHandle<typeof webhookDeliveryWorkflow>(delivery.workflowId).result();
    expect(result).toMatchObject({ status: 'stopped', attempts: 12 });
    expect(requestsOf(delivery.eventId)).toHaveLength(12);
    const [endpoint] = await sql<{ status: string; disabled_reason: string }>(harness.orm, 'select status, disabled_reason from webhook_endpoints where id = ?', [
      delivery.endpointId,
    ]);
    expect(endpoint!.status).toBe('disabled');
    const notices = await sql<{ type: string; tenant_id: string | null }>(harness.orm, `select type, tenant_id from events where data->>'webhook_endpoint_id' = ?`, [
      delivery.endpointId,
    ]);
    expect(notices).toEqual([{ type: 'webhook_endpoint.disabled', tenant_id: null }]);
    await replayAndRecord(delivery.workflowId, 'down-four-days');
  });

  it('replays every recorded delivery history', async () => {
    const files = readdirSync(FIXTURES).filter((file) => /^webhook-delivery-.*\.history\.pb$/.test(file));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const history = HistoryProto.decode(readFileSync(join(FIXTURES, file)));
      await Worker.runReplayHistory({ workflowBundle: harness.bundle }, history, file);
    }
  });
});
