/**
 * A worker process that dies in the middle of a recharge: the card charge runs for real, then the
 * process exits at the start of the ledger credit, as if the machine died between the two steps.
 * Run with the same environment as `npm run worker`.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import { loadConfig } from '../../src/config.ts';
import { initOrm } from '../../src/db/orm.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { createCardGateway } from '../../src/gateway/index.ts';
import { workflowSource } from '../../src/worker.ts';

const config = loadConfig();
const orm = await initOrm(config.DATABASE_URL, { poolMax: 2 });
const activities = createActivities({ orm, gateway: createCardGateway(config, { orm }), clock: systemClock });
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const worker = await Worker.create({
  connection,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  ...workflowSource(config),
  activities: {
    ...activities,
    async settleCredit() {
      process.stdout.write('crashing before the credit\n');
      process.exit(137);
    },
  },
});
process.stdout.write('crashing worker ready\n');
await worker.run();
