/**
 * An activity worker process that dies in the middle of a prepay's charge: the sandbox gateway charges
 * the card for real, then the process exits before the activity can report, as if the machine died.
 * Environment: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import { initOrm } from '../../src/db/orm.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { CardGateway } from '../../src/gateway/card-gateway.ts';
import { createSandboxGateway } from '../../src/gateway/sandbox-gateway.ts';

const orm = await initOrm(process.env.DATABASE_URL!, { poolMax: 2 });
const sandbox = createSandboxGateway({ orm });
const gateway: CardGateway = {
  ...sandbox,
  async charge(request) {
    await sandbox.charge(request);
    process.stdout.write('charged at the gateway, crashing\n');
    process.exit(137);
  },
};
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const worker = await Worker.create({
  connection,
  taskQueue: process.env.TEMPORAL_TASK_QUEUE!,
  activities: createActivities({ orm, gateway, clock: systemClock }),
});
process.stdout.write('crashing charge worker ready\n');
await worker.run();
