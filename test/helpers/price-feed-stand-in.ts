/** A local stand-in for a CoinGecko-style simple-price endpoint: the test sets what it answers. */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FeedAnswer {
  status: number;
  /** sent verbatim, so that tests control every digit of the numbers */
  body: string;
  /** milliseconds before answering */
  delayMs?: number;
}

export interface PriceFeedStandIn {
  url: string;
  requests: string[];
  answer(next: FeedAnswer): void;
  /** answers ankr and tether at these rates (JSON number text), updated `ageSeconds` ago */
  quote(rates: { ankr?: string; tether?: string }, ageSeconds?: number): void;
  close(): Promise<void>;
}

export async function startPriceFeedStandIn(): Promise<PriceFeedStandIn> {
  let current: FeedAnswer = { status: 503, body: '{}' };
  const requests: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    requests.push(request.url ?? '');
    const { status, body, delayMs } = current;
    setTimeout(() => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body);
    }, delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/api/v3`,
    requests,
    answer: (next) => {
      current = next;
    },
    quote: (rates, ageSeconds = 0) => {
      const updated = Math.floor(Date.now() / 1000) - ageSeconds;
      const entries = Object.entries(rates).map(([coin, usd]) => `"${coin}":{"usd":${usd},"last_updated_at":${updated}}`);
      current = { status: 200, body: `{${entries.join(',')}}` };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
