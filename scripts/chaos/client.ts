/**
 * The client of a chaos run: one HTTP call to one of the APIs, which answers are definitive, the loop that
 * sends an operation again with the same Idempotency-Key until its answer is definitive, the loop that asks
 * until an outcome shows, and the watcher's signed transfer report.
 */
import { randomBytes } from 'node:crypto';
import { signWatcherReport } from '../../src/chain/watcher-signature.ts';
import type { Pick } from './plan.ts';

/** What the client needs of the run. */
export interface Api {
  /** the API processes' base URLs; each request goes to one of them, picked at random */
  apiUrls: string[];
  pick: Pick;
  /** an operation that gets no definitive answer in this time fails the run (its effect is unknown) */
  opTimeoutSeconds: number;
  /** the watcher's API key (set once the operator has made it) and the secret its reports are signed with */
  watcher: { key: string; secret: string };
  /** `ambiguous`: requests whose first answer was not definitive */
  counters: { ambiguous: number };
}

export interface Answer {
  status: number;
  text: string;
  body: any;
}

export async function once(api: Api, method: string, path: string, key: string, body?: unknown, idempotencyKey?: string): Promise<Answer | undefined> {
  const url = api.pick(api.apiUrls) + path;
  try {
    const response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, text, body: parsed };
  } catch {
    return undefined; // connection refused or reset: the API was killed, or the answer was lost
  }
}

/** Definitive: a 2xx other than 202, or a 4xx other than a still-running key (409 on Idempotency-Key) and 429. */
export function definitive(answer: Answer | undefined): boolean {
  if (!answer) return false;
  if (answer.status === 202 || answer.status === 429 || answer.status >= 500) return false;
  if (answer.status === 409 && answer.body?.error?.field === 'Idempotency-Key') return false;
  return true;
}

class NoDefinitiveAnswer extends Error {}

/** One request, sent again (with the same Idempotency-Key unless `idempotent: false`) until the answer is definitive. */
export async function call(api: Api, method: string, path: string, key: string, body?: unknown, options: { idempotent?: boolean } = {}): Promise<Answer> {
  const idempotencyKey = options.idempotent === false ? undefined : `chaos-${randomBytes(12).toString('hex')}`;
  const deadline = Date.now() + api.opTimeoutSeconds * 1000;
  for (let attempt = 1; ; attempt += 1) {
    const answer = await once(api, method, path, key, body, idempotencyKey);
    if (answer && definitive(answer)) return answer;
    if (attempt === 1) api.counters.ambiguous += 1;
    if (Date.now() > deadline) {
      throw new NoDefinitiveAnswer(
        `${method} ${path}: no definitive answer in ${api.opTimeoutSeconds} s (last: ${answer ? `HTTP ${answer.status} ${answer.text.slice(0, 200)}` : 'no connection'})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(3000, 100 * attempt)));
  }
}

/** A signed transfer report to the watcher route, sent again (same transfer) until the answer is definitive. */
export async function watcherReport(api: Api, transfer: Record<string, unknown>): Promise<Answer> {
  const raw = JSON.stringify(transfer);
  const deadline = Date.now() + api.opTimeoutSeconds * 1000;
  for (let attempt = 1; ; attempt += 1) {
    const timestamp = Math.floor(Date.now() / 1000);
    let answer: Answer | undefined;
    try {
      const response = await fetch(`${api.pick(api.apiUrls)}/v2alpha/watchers/transfers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.watcher.key}`, 'content-type': 'application/json', 'x-watcher-signature': signWatcherReport(api.watcher.secret, timestamp, raw) },
        body: raw,
        signal: AbortSignal.timeout(60_000),
      });
      const text = await response.text();
      answer = { status: response.status, text, body: JSON.parse(text || 'null') };
    } catch {
      answer = undefined;
    }
    if (answer && definitive(answer)) return answer;
    if (attempt === 1) api.counters.ambiguous += 1;
    if (Date.now() > deadline) throw new NoDefinitiveAnswer(`watcher report: no definitive answer in ${api.opTimeoutSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(3000, 100 * attempt)));
  }
}

/** Asks again until `done`; the operation's deadline bounds it. */
export async function until(api: Api, ask: () => Promise<Answer>, done: (answer: Answer) => boolean): Promise<Answer> {
  const deadline = Date.now() + api.opTimeoutSeconds * 1000;
  for (;;) {
    const answer = await ask();
    if (done(answer)) return answer;
    if (Date.now() > deadline) throw new NoDefinitiveAnswer(`no outcome in ${api.opTimeoutSeconds} s (last: HTTP ${answer.status} ${answer.text.slice(0, 200)})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
