/**
 * The failure catalogue (src/domain/failures.ts) is the one list of business failure types: each type once,
 * and no source file spells a type as a literal of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_TYPES } from '../../src/domain/errors.ts';
import { FAILURES, failureOf, failureTypes } from '../../src/domain/failures.ts';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the failure catalogue', () => {
  const entries = Object.entries(FAILURES);

  it('gives each failure its own stable type, a line saying when it is raised, and a known HTTP error type', () => {
    const types = entries.map(([, failure]) => failure.type);
    expect(new Set(types).size).toBe(types.length);
    for (const [, failure] of entries) {
      expect(failure.type).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(failure.when.length).toBeGreaterThan(10);
      if ('http' in failure) expect(Object.keys(ERROR_TYPES)).toContain(failure.http.error);
    }
  });

  it('finds an entry by its type, and nothing for other types', () => {
    expect(failureOf('PrepayClosed')).toBe(FAILURES.prepayClosed);
    expect(failureOf('InsufficientBalance')?.http).toEqual({ error: 'insufficient_balance' });
    expect(failureOf('SomethingElse')).toBeUndefined();
    expect(failureOf(undefined)).toBeUndefined();
    expect(failureTypes('cardDeclined', 'chargeRefused')).toEqual(['CardDeclined', 'ChargeRefused']);
  });

  it('is the only place in src/ that spells a failure type', () => {
    const types = entries.map(([, failure]) => failure.type);
    const spelled = sourceFiles(SRC)
      .filter((path) => !path.endsWith(join('domain', 'failures.ts')))
      .flatMap((path) => {
        const text = readFileSync(path, 'utf8');
        return types.filter((type) => text.includes(`'${type}'`) || text.includes(`"${type}"`)).map((type) => `${path.slice(SRC.length + 1)}: ${type}`);
      });
    expect(spelled).toEqual([]);
  });
});
