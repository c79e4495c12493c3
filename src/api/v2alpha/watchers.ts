/**
 * The watcher route (DESIGN §5, §8): external chain watchers report ERC20 transfers with a watcher key
 * and an HMAC signature over the raw body. Reports go through the same delivery as the built-in
 * watcher's, so a replayed or concurrent report acts once. Mounted on its own router: only watcher keys
 * may call it, and watcher keys may call nothing else.
 */
import { Router } from '@koa/router';
import type { Client } from '@temporalio/client';
import { deliverTransfer } from '../../chain/deliver.ts';
import { requiredConfirmations, type ChainSettings } from '../../chain/settings.ts';
import { verifyWatcherSignature, WATCHER_SIGNATURE_HEADER } from '../../chain/watcher-signature.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { refused, requireScope } from '../middleware/auth.ts';
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
    const outcome = await deliverTransfer(
      { em: ctx.state.em, temporal: deps.temporal, taskQueue: deps.taskQueue, logger: ctx.state.log, now },
      {
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
      },
      { atDepth: body.confirmations >= requiredConfirmations(chain), source: 'route' },
    );
    ctx.body = {
      code: 0,
      message: 'success',
      status: outcome.status,
      reason: outcome.reason,
      duplicate: outcome.duplicate,
      required_confirmations: requiredConfirmations(chain),
      ...(outcome.prePayId !== null ? { pre_pay_id: outcome.prePayId } : {}),
      ...(outcome.movementId !== null ? { trans_id: outcome.movementId } : {}),
    };
  });
  return router;
}
