/** The API's cache of valid keys: an entry lives its TTL, is forgotten on revocation, and the cache stays bounded. */
import { createKeyCache } from '../../src/api/middleware/key-cache.ts';

const principal = (keyId: string) => ({ scope: 'tenant' as const, tenantId: 't1', keyId });

describe('the key cache', () => {
  it('answers a key for its TTL only', () => {
    let now = 1_000;
    const cache = createKeyCache({ ttlMs: 1000, now: () => now });
    cache.set('h1', principal('k1'));
    expect(cache.get('h1')).toEqual(principal('k1'));
    now += 999;
    expect(cache.get('h1')).toEqual(principal('k1'));
    now += 1;
    expect(cache.get('h1')).toBeUndefined();
  });

  it('forgets a revoked key at once, by its id', () => {
    const cache = createKeyCache();
    cache.set('h1', principal('k1'));
    cache.set('h2', principal('k2'));
    cache.forget('k1');
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toEqual(principal('k2'));
  });

  it('keeps at most its maximum, dropping the oldest', () => {
    const cache = createKeyCache({ maxEntries: 2 });
    cache.set('h1', principal('k1'));
    cache.set('h2', principal('k2'));
    cache.set('h3', principal('k3'));
    expect([cache.get('h1'), cache.get('h2'), cache.get('h3')].map((found) => found?.keyId)).toEqual([undefined, 'k2', 'k3']);
  });
});
