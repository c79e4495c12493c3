/**
 * API keys recently found valid, so that a request does not look its key up in PostgreSQL every time
 * (decision 0105). An entry lives one second: a key revoked through another API replica stops working
 * there within a second, with nothing to deliver between replicas; the replica that revokes it forgets it
 * at once. Only valid keys are kept (an unknown key always reaches the database), and at most `maxEntries`.
 */
import type { Principal } from './auth.ts';

export interface KeyCache {
  get(keyHash: string): Principal | undefined;
  set(keyHash: string, principal: Principal): void;
  /** forgets a key (its revocation, in this process) */
  forget(keyId: string): void;
}

export function createKeyCache(options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}): KeyCache {
  const ttlMs = options.ttlMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { principal: Principal; until: number }>();
  return {
    get(keyHash) {
      const entry = entries.get(keyHash);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(keyHash);
        return undefined;
      }
      return entry.principal;
    },
    set(keyHash, principal) {
      entries.delete(keyHash);
      entries.set(keyHash, { principal, until: now() + ttlMs });
      // the oldest first: a Map iterates in insertion order
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    forget(keyId) {
      for (const [hash, entry] of entries) if (entry.principal.keyId === keyId) entries.delete(hash);
    },
  };
}
