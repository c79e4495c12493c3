/** Reading a Prometheus metrics endpoint in tests: the text as served, and the value of one series in it. */

export interface Scrape {
  contentType: string | null;
  text: string;
}

/** GET `{baseUrl}/metrics` without a key, as Prometheus scrapes it. */
export async function scrape(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET ${baseUrl}/metrics answered ${response.status}`);
  return { contentType: response.headers.get('content-type'), text: await response.text() };
}

/**
 * The sum of the samples named `name` whose labels include every one of `labels` (0 when there is none), so
 * that a test names the series it means whatever other labels the exporter adds (the SDK's task queue, …).
 * Sample values are counts here, never money.
 */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const found = Object.fromEntries([...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((match) => [match[1], match[2]]));
    if (Object.entries(labels).every(([label, value]) => found[label] === value)) sum += Number(sample[3]);
  }
  return sum;
}
