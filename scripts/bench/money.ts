/**
 * The bench's book of what it asked the engine to move and what the engine acknowledged, for the zero-drift
 * check after the money scenarios (docs/performance.md).
 *
 * Every money request carries a fresh Idempotency-Key and an amount in whole cents. A 200 is acknowledged
 * (its amount counts for its tenant); another definitive answer is a refusal. A request without a
 * definitive answer (autocannon stopped while it was in flight, a timeout, a 202 pending, a 409 for a key
 * still running) stays open; `settle()` sends each again with its key and body, as a client would, until the
 * answer is definitive. Then each tenant's balance must equal the sum of its acknowledged amounts.
 */
import { randomBytes } from 'node:crypto';
import { definitive, once, type Answer, type Api } from '../chaos/client.ts';

export interface MoneyRequest {
  key: string;
  path: string;
  /** the API key the request is sent with */
  token: string;
  tenant: string;
  cents: number;
  body: unknown;
}

export interface Tally {
  count: number;
  cents: number;
}

export class MoneyBook {
  readonly open = new Map<string, MoneyRequest>();
  readonly acknowledged = new Map<string, Tally>();
  /** definitive answers other than 200, by status */
  readonly refused: Record<string, number> = {};
  private readonly run = randomBytes(4).toString('hex');
  private next = 0;

  private readonly api: Api;

  constructor(api: Api) {
    this.api = api;
  }

  /** A new request: its Idempotency-Key, kept open until its answer. */
  begin(request: Omit<MoneyRequest, 'key'>): MoneyRequest {
    const entry = { ...request, key: `bench-${this.run}-${this.next++}` };
    this.open.set(entry.key, entry);
    return entry;
  }

  /** The answer to a request; a non-definitive one leaves it open. */
  answered(key: string, status: number, body?: any): void {
    const entry = this.open.get(key);
    if (!entry) return;
    if (!definitive({ status, text: '', body })) return;
    this.open.delete(key);
    if (status === 200) {
      const tally = this.acknowledged.get(entry.tenant) ?? { count: 0, cents: 0 };
      tally.count += 1;
      tally.cents += entry.cents;
      this.acknowledged.set(entry.tenant, tally);
    } else {
      this.refused[status] = (this.refused[status] ?? 0) + 1;
    }
  }

  /**
   * Sends a request (again) with its key until its answer is definitive, and books that answer; answers it,
   * or undefined when the deadline passed or the run stopped first (the request stays open).
   */
  async send(entry: MoneyRequest, stopped: () => boolean = () => false, deadline = Date.now() + 180_000): Promise<Answer | undefined> {
    for (let attempt = 1; Date.now() < deadline && !stopped(); attempt += 1) {
      const answer = await once(this.api, 'POST', entry.path, entry.token, entry.body, entry.key);
      if (answer && definitive(answer)) {
        this.answered(entry.key, answer.status, answer.body);
        return answer;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * attempt)));
    }
    return undefined;
  }

  /** Sends every open request again with its key until its answer is definitive; answers how many stay open. */
  async settle(stopped: () => boolean = () => false, timeoutMs = 180_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const entries = [...this.open.values()];
    // a few at a time: the engine is finishing the requests autocannon left behind
    for (let index = 0; index < entries.length; index += 8) await Promise.all(entries.slice(index, index + 8).map((entry) => this.send(entry, stopped, deadline)));
    return this.open.size;
  }
}

/** A decimal text ("12.3", "-4", "100.05") in whole cents, exactly; undefined when it has more than 2 decimals. */
export function textToCents(text: string): number | undefined {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const cents = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] ? -cents : cents;
}

/** Whole cents as the JSON number the money routes take (1234 → 12.34). */
export function centsToNumber(cents: number): number {
  return Number((cents / 100).toFixed(2));
}

export function formatCents(cents: number): string {
  return (cents / 100).toFixed(2);
}
