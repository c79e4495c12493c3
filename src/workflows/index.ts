export { systemCheckWorkflow } from './system-check.ts';
export type { SystemCheckInput, SystemCheckResult } from './system-check.ts';
