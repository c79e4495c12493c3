/** A card as a gateway tokenised it: what the engine stores and shows (never the card number). */
export interface TokenisedCard {
  /** the gateway's reference to the card (a sandbox ref, or a Stripe PaymentMethod id) */
  gatewayRef: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  /** the gateway's customer holding the card, when the gateway has such a notion (Stripe: `cus_…`); pass it back as ChargeRequest.customerRef */
  customerRef?: string | undefined;
}
