/**
 * The signature of transfer reports from external watchers (DESIGN §5), in the style of signed webhooks:
 * `X-Watcher-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Several `v1` values
 * may be sent (one per secret while a secret is rotated); one match is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WATCHER_SIGNATURE_HEADER = 'X-Watcher-Signature';
/** A report signed more than this far from our clock, either way, is refused (replays of old captures). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function watcherSignature(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex');
}

/** The header value an external watcher sends (used by our tests and shown in docs/tokens.md). */
export function signWatcherReport(secret: string, timestamp: number, rawBody: string): string {
  return `t=${timestamp},v1=${watcherSignature(secret, timestamp, rawBody)}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifyWatcherSignature(header: string | undefined, rawBody: string, secret: string, nowSeconds: number): SignatureCheck {
  if (!header) return { ok: false, reason: `The ${WATCHER_SIGNATURE_HEADER} header is missing.` };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [name, value, ...rest] = part.trim().split('=');
    if (rest.length > 0 || value === undefined) continue;
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) {
    return { ok: false, reason: `The ${WATCHER_SIGNATURE_HEADER} header must be "t=<unix seconds>,v1=<hex HMAC-SHA256>".` };
  }
  if (Math.abs(nowSeconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, reason: `The signature timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} seconds away from now; sign the report again.` };
  }
  const expected = Buffer.from(watcherSignature(secret, timestamp, rawBody), 'hex');
  const matches = signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
  return matches ? { ok: true } : { ok: false, reason: 'The signature does not match the body.' };
}
