/**
 * The watcher route (DESIGN §5, §8): external chain watchers report ERC20 transfers with a watcher key
 * and an HMAC signature over the raw body. Reports go through the same delivery as the built-in
 * watcher's, so a replayed or concurrent report acts once. Mounted on its own router: only watcher keys
 * may call it, and watcher keys may call nothing else.
 *
 * With CHAIN_RPC_URL a report is checked against the node before anything is recorded (decision 0102):
 * the receipt, the log, its block and the depth are the node's; a report it contradicts is 422, a node
 * that cannot answer 503. Without CHAIN_RPC_URL the signed report is trusted (decision 0034).
 */
import { Router } from '@koa/router';
import type { Client } from '@temporalio/client';
import { deliverTransfer, type ObservedTransfer } from '../../chain/deliver.ts';
import { requiredConfirmations, type ChainSettings } from '../../chain/settings.ts';
import { transferVerifier, type TransferVerifier, type VerifiedReport } from '../../chain/verify-transfer.ts';
import { verifyWatcherSignature, WATCHER_SIGNATURE_HEADER } from '../../chain/watcher-signature.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { Logger } from '../../logger.ts';
import { refused, requireScope } from '../middleware/auth.ts';
import { DEPENDENCY_RETRY_AFTER_SECONDS } from '../middleware/unavailable.ts';
import { parseWith } from '../validation.ts';
import { ReportTransferBody } from './watcher-schemas.ts';

export interface WatcherRouteDeps {
  temporal: Client;
  taskQueue: string;
  clock: Clock;
  chain: ChainSettings | null;
  signingSecret: string | undefined;
}

export function watcherRouter(deps: WatcherRouteDeps): Router {
  const router = new Router({ prefix: '/v2alpha/watchers' });
  router.use(requireScope('watcher'));
  // Only a client object: nothing is asked of the node until a report arrives.
  const verifier = deps.chain?.rpcUrl ? transferVerifier(deps.chain) : null;

  router.post('/transfers', async (ctx) => {
    const { chain, signingSecret } = deps;
    if (!chain || !signingSecret) {
      throw new AppError('service_unavailable', 'Token transfers are not enabled on this engine: CHAIN_ID and WATCHER_SIGNING_SECRET must be configured.');
    }
    const now = deps.clock.now();
    const check = verifyWatcherSignature(ctx.get(WATCHER_SIGNATURE_HEADER) || undefined, ctx.state.rawBody ?? '', signingSecret, Math.floor(now.getTime() / 1000));
    if (!check.ok) throw refused('watcher_signature', new AppError('invalid_signature', check.reason, { field: WATCHER_SIGNATURE_HEADER }));

    const body = parseWith(ReportTransferBody, ctx.request.body);
    if (body.chain_id !== chain.chainId) {
      throw new AppError('unprocessable', `This engine watches chain ${chain.chainId}, not ${body.chain_id}.`, { field: 'chain_id' });
    }
    const reported: ObservedTransfer = {
      chainId: body.chain_id,
      txHash: body.tx_hash,
      logIndex: body.log_index,
      token: body.token,
      from: body.from,
      to: body.to,
      amount: body.amount,
      blockNumber: body.block_number,
      blockHash: body.block_hash,
      confirmations: body.confirmations,
      ...(body.block_timestamp !== undefined ? { blockTime: new Date(body.block_timestamp * 1000) } : {}),
    };
    const { transfer, atDepth, requiredConfirmations: required } = verifier ? await verified(verifier, reported, ctx) : trusted(reported, chain);
    const outcome = await deliverTransfer({ em: ctx.state.em, temporal: deps.temporal, taskQueue: deps.taskQueue, logger: ctx.state.log, now }, transfer, {
      atDepth,
      source: 'route',
    });
    ctx.body = {
      code: 0,
      message: 'success',
      status: outcome.status,
      reason: outcome.reason,
      duplicate: outcome.duplicate,
      required_confirmations: required,
      ...(outcome.prePayId !== null ? { pre_pay_id: outcome.prePayId } : {}),
      ...(outcome.movementId !== null ? { trans_id: outcome.movementId } : {}),
    };
  });
  return router;
}

/**
 * The report as the node confirms it, before anything is recorded. A contradicted report is logged (a broken
 * or lying watcher) and refused; a node that cannot answer is logged and answered 503 with Retry-After.
 */
async function verified(verifier: TransferVerifier, report: ObservedTransfer, ctx: { state: { log: Logger }; set(field: string, value: string): void }): Promise<VerifiedReport> {
  try {
    return await verifier.verify(report);
  } catch (error) {
    if (error instanceof AppError && error.type === 'unprocessable') {
      ctx.state.log.warn({ txHash: report.txHash, logIndex: report.logIndex, field: error.field, reason: error.message }, 'a watcher report the chain contradicts; refused');
    } else if (error instanceof AppError && error.type === 'service_unavailable') {
      ctx.state.log.warn(
        { txHash: report.txHash, logIndex: report.logIndex, reason: error.message, err: error.cause },
        'a watcher report could not be checked against the chain node',
      );
      ctx.set('Retry-After', String(DEPENDENCY_RETRY_AFTER_SECONDS));
    }
    throw error;
  }
}

/** Without an RPC node the signed report is believed, its confirmations included (decision 0034). */
function trusted(report: ObservedTransfer, chain: ChainSettings): VerifiedReport {
  const required = requiredConfirmations(chain);
  return { transfer: report, atDepth: report.confirmations >= required, requiredConfirmations: required };
}
