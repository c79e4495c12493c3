/**
 * A small HTTP client for tests: JSON in, status + parsed JSON + raw text out. Every answer is checked
 * against the OpenAPI document (helpers/contract.ts): an answer the document does not describe fails the test.
 */
import { contractProblems } from './contract.ts';

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  key?: string;
  body?: unknown;
  /** sent verbatim instead of `body` (broken JSON, exact numbers) */
  rawBody?: string;
  headers?: Record<string, string>;
}

export function client(baseUrl: string, defaultKey?: string) {
  return async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const key = options.key ?? defaultKey;
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined;
    if (options.rawBody !== undefined) payload = options.rawBody;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await response.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const problems = contractProblems(method, baseUrl + path, response.status, response.headers.get('content-type'), body, text);
    if (problems.length > 0) throw new Error(`The answer breaks the OpenAPI document:\n${problems.join('\n')}`);
    return { status: response.status, body, text, headers: response.headers };
  };
}

/** Asserts an API error answer exactly: the status, and a body of just `code`, a non-empty `message` and `error` {type, field?}. */
export function expectError(answer: HttpAnswer, status: number, type: string, field?: string): void {
  expect({ status: answer.status, body: answer.body }).toEqual({
    status,
    body: { code: status, message: expect.stringMatching(/\S/), error: field === undefined ? { type } : { type, field } },
  });
}
