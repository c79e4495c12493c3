/**
 * AbandonedPrepayWorkflow (`prepay-{pre_pay_id}`, decision 0080): the tombstone the reconciler starts
 * under the id of a prepay whose PrepayWorkflow never started. It does nothing and ends at once; it only
 * occupies the id, so that a late start of the real workflow (a client retrying its request with the
 * same Idempotency-Key) is refused by REJECT_DUPLICATE and can never charge a card the reconciler
 * closed as `payment_failed` / `abandoned`.
 */
export interface AbandonedPrepayInput {
  prePayId: number;
  tenantId: string;
  reason: 'abandoned';
}

export async function abandonedPrepayWorkflow(input: AbandonedPrepayInput): Promise<AbandonedPrepayInput> {
  return input;
}
