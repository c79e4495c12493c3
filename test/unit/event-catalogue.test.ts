/** docs/events.md shows one example of every event type of the catalogue, and of no other type. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES } from '../../src/domain/events.ts';

const page = readFileSync(fileURLToPath(new URL('../../docs/events.md', import.meta.url)), 'utf8');

/** Each `## \`type\`` section and the JSON examples under it. */
function sections(): Map<string, unknown[]> {
  const found = new Map<string, unknown[]>();
  for (const part of page.split(/^## /m).slice(1)) {
    const type = /^`([a-z_.]+)`/.exec(part)?.[1];
    if (!type) continue;
    const examples = [...part.matchAll(/```json\n([\s\S]*?)\n```/g)].map((match) => JSON.parse(match[1]!) as unknown);
    found.set(type, examples);
  }
  return found;
}

describe('the event catalogue page', () => {
  it('has a section for every type of the catalogue and for no other', () => {
    expect([...sections().keys()].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('shows each type with at least one example in the envelope a receiver gets', () => {
    for (const [type, examples] of sections()) {
      expect(examples.length).toBeGreaterThan(0);
      for (const example of examples as Record<string, unknown>[]) {
        const { tenant_id: tenantId, ...envelope } = example;
        expect(envelope).toEqual({ id: expect.stringMatching(/^evt_/), type, created_at: expect.stringMatching(/Z$/), data: expect.any(Object) });
        // a team's, except the operator's own events
        expect(tenantId === null ? type : typeof tenantId).toBe(tenantId === null ? 'webhook_endpoint.disabled' : 'string');
      }
    }
  });

  it('carries the object as its GET answers it on every prepay and subscription event', () => {
    for (const [type, examples] of sections()) {
      for (const example of examples as { data: Record<string, unknown> }[]) {
        if (type.startsWith('prepay.')) expect(example.data.prepay).toMatchObject({ pre_pay_id: example.data.pre_pay_id, status: expect.any(String) });
        if (type.startsWith('subscription.')) expect(example.data.subscription).toMatchObject({ subscription_id: example.data.subscription_id, status: expect.any(String) });
      }
    }
  });
});
