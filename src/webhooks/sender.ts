/**
 * One HTTP attempt of a webhook: POST the body, at most `timeoutMs`, redirects not followed (a 3xx is a
 * failed attempt), every address checked before the connection (targets.ts). Never throws: the outcome
 * says what happened, for the delivery's record.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { assertAddressAllowed, hostOf, parseTargetUrl, WebhookTargetError, type TargetPolicy } from './targets.ts';

export interface AttemptOutcome {
  /** the receiver's status; null when no answer came (refused, timed out, blocked) */
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/** A resolver that refuses, at connection time, every address the policy does not allow. */
function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      try {
        for (const { address } of addresses) assertAddressAllowed(address, policy);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

export async function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, options: TargetPolicy & { timeoutMs: number }): Promise<AttemptOutcome> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  let url: URL;
  try {
    url = parseTargetUrl(rawUrl, options);
    const host = hostOf(url);
    if (isIP(host)) assertAddressAllowed(host, options);
  } catch (error) {
    return { statusCode: null, latencyMs: took(), error: `blocked: ${(error as Error).message}` };
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<AttemptOutcome>((resolve) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'payment-engine-webhooks/1', 'content-length': Buffer.byteLength(body), ...headers },
        lookup: guardedLookup(options),
        signal: AbortSignal.timeout(options.timeoutMs),
        agent: false,
      },
      (response) => {
        // The answer's body is not kept: only its status counts. Reading it lets the socket close.
        response.resume();
        response.on('end', () => resolve({ statusCode: response.statusCode ?? null, latencyMs: took(), error: null }));
        response.on('error', (error) => resolve({ statusCode: response.statusCode ?? null, latencyMs: took(), error: error.message }));
      },
    );
    request.on('error', (error) => {
      const reason =
        error instanceof WebhookTargetError
          ? `blocked: ${error.message}`
          : error.name === 'AbortError' || error.name === 'TimeoutError'
            ? `timed out after ${options.timeoutMs} ms`
            : error.message;
      resolve({ statusCode: null, latencyMs: took(), error: reason });
    });
    request.end(body);
  });
}
