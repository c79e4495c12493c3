/**
 * Where a webhook may be sent. A delivery must not become a way into the operator's own network (SSRF):
 * unless private targets are allowed (development and tests), only public unicast addresses are reached.
 * The check runs on every address a host resolves to, at registration and again before each connection
 * (sender.ts), so a name that later resolves elsewhere (DNS rebinding) is refused too. Classification is
 * ipaddr.js's (decision 0098).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface TargetPolicy {
  /** loopback, private, link-local, … allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS=true) */
  allowPrivate: boolean;
  /** only https:// URLs (production) */
  requireHttps: boolean;
}

export class WebhookTargetError extends Error {}

/** The address's range as ipaddr.js names it (`unicast` for a public address); IPv4-mapped IPv6 as IPv4. */
export function addressRange(address: string): string {
  return ipaddr.process(address).range();
}

export function assertAddressAllowed(address: string, policy: TargetPolicy): void {
  if (policy.allowPrivate) return;
  const range = addressRange(address);
  if (range !== 'unicast') throw new WebhookTargetError(`the address ${address} is ${range}, not a public address`);
}

/** The URL's syntax and scheme; throws WebhookTargetError with the reason. */
export function parseTargetUrl(raw: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('it is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookTargetError('only http(s) URLs can receive webhooks');
  if (policy.requireHttps && url.protocol !== 'https:') throw new WebhookTargetError('only https URLs can receive webhooks here');
  if (url.username || url.password) throw new WebhookTargetError('credentials in the URL are not accepted; authenticate the request by its signature');
  return url;
}

/** The bare host of a URL (an IPv6 literal without its brackets). */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Checks a URL for registration: its scheme, and every address its host resolves to now. */
export async function checkTargetUrl(raw: string, policy: TargetPolicy): Promise<URL> {
  const url = parseTargetUrl(raw, policy);
  const host = hostOf(url);
  if (isIP(host)) {
    assertAddressAllowed(host, policy);
    return url;
  }
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch {
    throw new WebhookTargetError(`the host ${host} does not resolve`);
  }
  for (const { address } of addresses) assertAddressAllowed(address, policy);
  return url;
}
