/**
 * The engine's Temporal connection (src/temporal/client.ts) closes cleanly while a call is still retrying:
 * the SDK sets a timer per retry and creates the retried call when it fires, so a close in between used to
 * throw "Channel has been shut down" from that timer, an uncaught exception (a suite of ours failed so on a
 * busy machine). Here Temporal is made unreachable behind a proxy, a call starts retrying, and the
 * connection is closed: the call must end with an error of its own, and nothing may be thrown elsewhere.
 */
import { connectTemporal } from '../../src/temporal/client.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { testRun } from '../helpers/test-run.ts';

describe('closing the Temporal connection', () => {
  it('ends a call that is still retrying with its error, and throws nothing from a retry timer', async () => {
    const [host, port] = testRun().temporalAddress.split(':');
    const proxy = await startTcpProxy(host!, Number(port));
    const { connection, client } = await connectTemporal({ address: proxy.address, namespace: 'default', attempts: 10 });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      await client.workflow
        .getHandle('no-such-workflow')
        .describe()
        .catch(() => undefined); // connected
      await proxy.cut();
      const call = client.workflow
        .getHandle('no-such-workflow')
        .describe()
        .then(
          () => 'answered',
          () => 'failed',
        );
      // Long enough for the first attempts to fail and a retry to wait on its timer.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await connection.close();
      expect(await call).toBe('failed');
      // Past the longest retry delay (5 s): a timer left behind would have fired by now.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await proxy.close();
    }
  });
});
