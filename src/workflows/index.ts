export { systemCheckWorkflow } from './system-check.ts';
export type { SystemCheckInput, SystemCheckResult } from './system-check.ts';
export { rechargeWorkflow } from './recharge.ts';
export type { RechargeInput, RechargeResult } from './recharge.ts';
export { refundWorkflow } from './refund.ts';
export type { RefundInput, RefundResult } from './refund.ts';
export { subscriptionWorkflow } from './subscription.ts';
export { creditTransferWorkflow } from './credit-transfer.ts';
export type { CreditTransferInput, CreditTransferReason, CreditTransferResult } from './credit-transfer.ts';
