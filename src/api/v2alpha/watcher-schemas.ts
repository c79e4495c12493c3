import { z } from 'zod';
import { CURRENCY_DECIMALS, Dec } from '../../domain/money.ts';
import { decimalString } from '../validation.ts';

const hex = (bytes: number, what: string) =>
  z
    .string({ error: `must be a 0x-prefixed ${what}` })
    .regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `must be a 0x-prefixed ${what}`)
    .transform((value) => value.toLowerCase());

const nonNegativeInteger = (name: string) =>
  z
    .number({ error: `must be a non-negative integer ${name}` })
    .int(`must be a non-negative integer ${name}`)
    .min(0, `must be a non-negative integer ${name}`)
    .max(Number.MAX_SAFE_INTEGER);

/** ReportTransfer (POST /v2alpha/watchers/transfers): one ERC20 Transfer log, as DESIGN §5 names its fields. */
export const ReportTransferBody = z
  .strictObject({
    chain_id: z.number({ error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer').max(Number.MAX_SAFE_INTEGER),
    token: z.enum(['ANKR_ERC20', 'USDT_ERC20'], { error: 'must be ANKR_ERC20 or USDT_ERC20' }),
    tx_hash: hex(32, 'transaction hash (32 bytes of hex)'),
    log_index: nonNegativeInteger('(the log index in its block)'),
    block_number: nonNegativeInteger('(the block number)'),
    block_hash: hex(32, 'block hash (32 bytes of hex)'),
    from: hex(20, 'address (20 bytes of hex)'),
    to: hex(20, 'address (20 bytes of hex)'),
    // token units, not wei: "1.000001" USDT; at most the token's decimals (checked below)
    amount: decimalString({ maxDecimals: 18, maxIntegerDigits: 30, positive: true }),
    confirmations: nonNegativeInteger('(blocks on top of and including the transfer block)'),
    // optional: the block's timestamp in Unix seconds; a transfer mined before a payment's deadline counts toward it
    block_timestamp: nonNegativeInteger('(the block timestamp, Unix seconds)').optional(),
  })
  .superRefine((body, ctx) => {
    // zod runs this refinement even when a field already failed: only a parsed amount and token are checked.
    if (!(body.amount instanceof Dec) || !(body.token in CURRENCY_DECIMALS)) return;
    const decimals = CURRENCY_DECIMALS[body.token];
    if (body.amount.decimalPlaces() > decimals) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: `must have at most ${decimals} decimal places for ${body.token}` });
    }
  });
export type ReportTransferBody = z.output<typeof ReportTransferBody>;
