/** Creating a tenant with its own key and cards through the operator API, as a user would. */
import { client, type HttpAnswer } from './http.ts';
import { uniqueId, type TestStack } from './stack.ts';

export interface TestTenant {
  id: string;
  key: string;
  call: ReturnType<typeof client>;
}

export async function createTenant(stack: TestStack, prefix = 'team'): Promise<TestTenant> {
  const operator = client(stack.url, stack.operatorKey);
  const id = uniqueId(prefix);
  expectStatus(await operator('POST', '/operator/v1/tenants', { body: { tenant_id: id } }), 201);
  const key = expectStatus(await operator('POST', `/operator/v1/tenants/${id}/api_keys`, { body: {} }), 201).body.api_key as string;
  return { id, key, call: client(stack.url, key) };
}

export async function addCard(tenant: TestTenant, token: string): Promise<string> {
  return expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: { token } }), 201).body.card_id as string;
}

export function expectStatus<T>(answer: HttpAnswer<T>, status: number): HttpAnswer<T> {
  if (answer.status !== status) throw new Error(`expected HTTP ${status}, got ${answer.status}: ${answer.text}`);
  return answer;
}

/** The tenant's USD balance as the JSON text writes it (the exact digits, not a parsed float). */
export async function balanceOf(tenant: TestTenant): Promise<string> {
  const answer = expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200);
  return /"balance":(-?[0-9.]+)/.exec(answer.text)![1]!;
}

/** The tenant's balance per currency, from the v2alpha balances route. */
export async function balances(tenant: TestTenant): Promise<Record<string, string>> {
  return expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances`), 200).body.balances;
}
