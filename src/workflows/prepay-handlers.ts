/**
 * What PrepayWorkflow answers while it runs: the status query, the token transfer signal, the API's
 * updates (awaitPayment, bindApp, setAutoRenewal, changeCard, cancel) with their validators, and the
 * operators' signals. Each reads and changes the run's state (./prepay-run.ts); the lifecycle in
 * prepay.ts waits on what they change.
 */
import { condition, log, patched, setHandler } from '@temporalio/workflow';
import { Dec } from '../domain/money.ts';
import { isTerminalPrepayStatus, sameApp } from '../domain/prepay.ts';
import { activitySummary } from '../domain/workflow-summaries.ts';
import { refusal } from './failures.ts';
import { steps } from './prepay-activities.ts';
import {
  awaitPaymentUpdate,
  bindAppUpdate,
  cancelUpdate,
  changeCardUpdate,
  requestAutoRenewalSignal,
  requestCancelSignal,
  setAutoRenewalUpdate,
  statusQuery,
  tokenTransferSignal,
  type PaymentOutcome,
} from './prepay-messages.ts';
import type { PrepayRun } from './prepay-run.ts';

/**
 * Sets every handler of the run, in the order a recorded history expects: signals and updates that
 * arrived before the run's first task are delivered as each handler is set.
 */
export function registerPrepayHandlers(run: PrepayRun): void {
  const { id, input } = run;

  /** The workflow's own status goes with the refusal: the read model may not say it yet (the API answers from it). */
  const rejectClosed = () => refusal('prepayClosed', `Prepay ${id} is already ${run.status}.`, { status: run.status });
  /** A request for another tenant than this workflow's is refused before anything else (decision 0051). */
  const assertOwner = (request: { tenantId?: unknown } | undefined) => {
    if (request && request.tenantId !== undefined && request.tenantId !== input.tenantId) {
      throw refusal('prepayIdentityMismatch', `The workflow of prepay ${id} belongs to another tenant; the request was refused.`);
    }
  };
  const validateCancel = () => {
    if (run.closed || isTerminalPrepayStatus(run.status)) throw rejectClosed();
    // A token prepay may be canceled while its payment window is open: what arrived stays on the team's balance.
    const waitingForTransfers = run.token !== null && run.inbox.isPaymentOpen();
    if ((run.status === 'awaiting_payment' && !waitingForTransfers) || run.charging) {
      throw refusal('prepayNotCancelable', `Prepay ${id} is being charged right now; retry in a moment.`);
    }
  };
  const validateAutoRenewal = (request: { autoRenewal: boolean; tenantId?: string }) => {
    assertOwner(request);
    if (typeof request?.autoRenewal !== 'boolean') throw refusal('prepayInvalidRequest', 'autoRenewal must be true or false.');
    if (run.closed || isTerminalPrepayStatus(run.status)) throw rejectClosed();
    // The renewal is at the gateway (or paid, the next cycle about to start): "off" could not stop it, so
    // it is refused rather than answered 200 for a charge that then goes through (decision 0050).
    if (!request.autoRenewal && run.charging && (run.status === 'renewing' || run.status === 'past_due')) {
      throw refusal('prepayRenewalInProgress', `Prepay ${id} is being renewed right now; switch auto-renewal off for the next cycle in a moment.`);
    }
  };
  /** A request that changes nothing is answered without a read-model write (histories recorded before skip this). */
  const autoRenewalUnchanged = (request: { autoRenewal: boolean }) => request.autoRenewal === run.autoRenewal && patched('auto-renewal-unchanged-is-a-no-op');

  setHandler(statusQuery, () => run.view());
  setHandler(tokenTransferSignal, (transfer) => run.inbox.receive(transfer));
  /** The operators' signals (the Temporal UI's way to ask for a cancel or an auto-renewal switch). */
  const registerOperatorSignals = () => {
    setHandler(requestCancelSignal, (request) => {
      try {
        validateCancel();
        run.cancelRequest ??= { reason: String(request?.reason ?? 'operator request') };
      } catch (error) {
        log.warn('requestCancel ignored', { prePayId: id, reason: (error as Error).message });
      }
    });
    setHandler(requestAutoRenewalSignal, async (request) => {
      try {
        validateAutoRenewal(request);
      } catch (error) {
        log.warn('requestAutoRenewal ignored', { prePayId: id, reason: (error as Error).message });
        return;
      }
      if (autoRenewalUnchanged(request)) return;
      run.autoRenewal = request.autoRenewal;
      await run.publish();
    });
  };
  // Signals and updates that reached a new run before its first task (sent while the last run continued as
  // new) wait for their handlers and are delivered as each handler is set: the signals first, so that an
  // update's answer (what the API tells the client) is never undone by a signal sent before it (decision 0050).
  const operatorSignalsFirst = patched('operator-signals-before-updates');
  if (operatorSignalsFirst) registerOperatorSignals();
  setHandler(
    awaitPaymentUpdate,
    async (_request) => {
      await condition(() => run.payment !== undefined || run.closed);
      const unpaid: PaymentOutcome = { status: 'unpaid', prePayId: id, reason: run.failureCode ?? run.status };
      return run.payment ?? unpaid;
    },
    {
      validator: (request) => {
        assertOwner(request);
        // A retry attaches to the prepay it started: the same terms (the first cycle's; later runs were renewed).
        const differs =
          request !== undefined &&
          !run.continued &&
          (request.paymentType !== input.paymentType || !new Dec(request.amount).eq(new Dec(input.amount)) || request.period !== input.period);
        if (differs) throw refusal('prepayIdentityMismatch', `Prepay ${id} runs with other terms than this request; the request was refused.`);
      },
    },
  );
  setHandler(
    bindAppUpdate,
    async (request) => {
      if (run.app && !sameApp(run.app, request.app)) throw refusal('prepayAppAlreadyBound', `Prepay ${id} is already bound to app ${run.app.appId}.`);
      if (!run.app) {
        run.app = request.app;
        run.boundAt = new Date().toISOString();
      }
      await condition(() => run.activated || run.closed);
      return run.view();
    },
    {
      validator: (request) => {
        assertOwner(request);
        if (request.paymentType !== input.paymentType) throw refusal('prepayPaymentTypeMismatch', `Prepay ${id} is paid with ${input.paymentType}, not ${request.paymentType}.`);
        if (run.app) {
          if (sameApp(run.app, request.app)) return;
          throw refusal('prepayAppAlreadyBound', `Prepay ${id} is already bound to app ${run.app.appId}.`);
        }
        if (!run.bindingOpen || run.status !== 'awaiting_binding' || run.cancelRequest)
          throw refusal('prepayNotBindable', `Prepay ${id} is ${run.status} and cannot be bound to an app.`);
        if (new Dec(request.costUsd).gt(new Dec(run.paidUsd))) {
          throw refusal('prepayResourcesExceedPayment', `These resources cost ${request.costUsd} USD for ${input.period} months; the prepayment paid ${run.paidUsd} USD.`);
        }
      },
    },
  );
  setHandler(
    setAutoRenewalUpdate,
    async (request) => {
      if (autoRenewalUnchanged(request)) return run.view();
      run.autoRenewal = request.autoRenewal;
      await run.publish();
      return run.view();
    },
    { validator: validateAutoRenewal },
  );
  setHandler(
    changeCardUpdate,
    async (request) => {
      // Checked here, not in the validator: whether the card is the team's is in the database.
      const usable = await steps.isPrepayCardUsable.executeWithOptions({ summary: activitySummary.isPrepayCardUsable(request.cardId) }, [
        { tenantId: input.tenantId, cardId: request.cardId },
      ]);
      if (!usable) {
        throw refusal('prepayInvalidRequest', `Card ${request.cardId} is not a card of team ${input.tenantId}.`);
      }
      run.cardId = request.cardId;
      await run.publish();
      return run.view();
    },
    {
      validator: (request) => {
        assertOwner(request);
        if (run.token) throw refusal('prepayInvalidRequest', `Prepay ${id} is paid in ${run.token}; it has no card.`);
        if (typeof request?.cardId !== 'string' || request.cardId === '') throw refusal('prepayInvalidRequest', 'cardId must name a card.');
        if (run.closed || isTerminalPrepayStatus(run.status)) throw rejectClosed();
      },
    },
  );
  setHandler(
    cancelUpdate,
    async (request) => {
      run.cancelRequest ??= { reason: request.reason };
      if (typeof request.requestId === 'string') run.acceptedCancels.add(request.requestId);
      await condition(() => run.closed);
      return run.view();
    },
    {
      validator: (request) => {
        assertOwner(request);
        if (typeof request?.requestId === 'string' && run.acceptedCancels.has(request.requestId)) return;
        validateCancel();
      },
    },
  );
  if (!operatorSignalsFirst) registerOperatorSignals();
}
