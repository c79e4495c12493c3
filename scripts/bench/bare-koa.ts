/**
 * The bench's HTTP baseline (a child process of `npm run bench`): a bare Koa 3 app, no middleware, no
 * router, no database, answering the JSON the engine answers.
 *
 * * `GET /regions`: the body of the engine's `GET /payment/v1/regions` (BARE_KOA_GET_JSON).
 * * `POST /quote`: reads and parses the JSON body, then answers the body of one of the engine's quotes
 *   (BARE_KOA_POST_JSON): what any JSON POST route does at the least.
 *
 * Environment: PORT, BARE_KOA_GET_JSON, BARE_KOA_POST_JSON. Prints `listening` once it accepts connections.
 */
import { createServer } from 'node:http';
import Koa from 'koa';

const getBody: unknown = JSON.parse(process.env.BARE_KOA_GET_JSON ?? '[]');
const postBody: unknown = JSON.parse(process.env.BARE_KOA_POST_JSON ?? '{}');

async function readJson(stream: NodeJS.ReadableStream): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/regions') {
    ctx.body = getBody;
  } else if (ctx.method === 'POST' && ctx.path === '/quote') {
    await readJson(ctx.req);
    ctx.body = postBody;
  } else {
    ctx.status = 404;
  }
});

const server = createServer(app.callback());
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write('listening\n'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
