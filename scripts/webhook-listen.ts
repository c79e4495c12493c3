/**
 * `npm run webhook:listen -- [--port 4242] [--secret whsec_…]`: a local webhook receiver, in the spirit of
 * `stripe listen`. It prints every delivery and checks its signature with the Standard Webhooks
 * specification's own package (the endpoint's secret is answered once, when the endpoint is created or its
 * secret rotated). A delivery whose signature does not verify is answered 400, so the engine retries it.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';

const { values } = parseArgs({ options: { port: { type: 'string', default: '4242' }, secret: { type: 'string' } } });
const secret = values.secret ?? process.env.WEBHOOK_SECRET;
const verifier = secret ? new Webhook(secret) : null;

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
    let verdict = 'signature not checked (no --secret)';
    let status = 200;
    if (verifier) {
      try {
        verifier.verify(body, headers);
        verdict = 'signature verified';
      } catch (error) {
        verdict = `SIGNATURE REFUSED: ${(error as Error).message}`;
        status = 400;
      }
    }
    const at = new Date().toISOString();
    let summary = body;
    try {
      const event = JSON.parse(body) as { id: string; type: string; data: unknown };
      summary = `${event.type} ${event.id}\n${JSON.stringify(event.data, null, 2)}`;
    } catch {
      // not JSON: printed as it came
    }
    process.stdout.write(`${at}  ${request.method} ${request.url}  webhook-id ${headers['webhook-id'] ?? '-'}  ${verdict}\n${summary}\n\n`);
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'bad signature');
  });
});

server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`Listening for webhooks on http://127.0.0.1:${values.port}/  ${verifier ? '(verifying signatures)' : '(pass --secret whsec_… to verify signatures)'}\n`);
});
