/** `npm run build`: bundles the workflow code ahead of time for production workers. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { DEFAULT_BUNDLE_PATH, WORKFLOWS_PATH } from '../src/worker.ts';

const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
mkdirSync(dirname(DEFAULT_BUNDLE_PATH), { recursive: true });
writeFileSync(DEFAULT_BUNDLE_PATH, code);
process.stdout.write(`workflow bundle written to ${DEFAULT_BUNDLE_PATH} (${code.length} bytes)\n`);
