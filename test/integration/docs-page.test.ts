/**
 * The API reference in a real headless browser (Debian's chromium through puppeteer-core): `GET /docs`
 * renders the document served at `/openapi.json`, with the seed routes in it, without any file from the
 * internet.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { client } from '../helpers/http.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let stack: TestStack;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  stack = await startStack();
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the API reference', () => {
  it('serves the OpenAPI document without a key', async () => {
    const answer = await client(stack.url)('GET', '/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ openapi: '3.1.0', paths: expect.objectContaining({ '/v2alpha/{type}/acquire_pre_amount': expect.any(Object) }) });
  });

  it('renders it at /docs, with the seed routes, loading nothing from another origin', async () => {
    const page = await browser.newPage();
    const origins = new Set<string>();
    // network requests only (the page's inline images are data: URLs)
    page.on('request', (request) => {
      if (/^https?:/.test(request.url())) origins.add(new URL(request.url()).origin);
    });
    await page.goto(`${stack.url}/docs`);
    // Swagger UI draws one block per operation once it has fetched and parsed the document.
    await page.waitForFunction("document.querySelectorAll('.opblock').length > 50", { timeout: 180_000 });
    const paths = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((node) => node.getAttribute('data-path')));
    for (const seed of [
      '/v2alpha/{type}/acquire_pre_amount',
      '/v2alpha/teams/{team_id}/cards/{card_id}',
      '/v2alpha/{type}/callback_app_info',
      '/v2alpha/{team_id}/invoice_list',
      '/payment/v1/account',
      '/payment/v1/market',
      '/payment/v1/checkout',
      '/payment/v1/recharge',
      '/payment/v1/amounts',
      '/payment/v1/amount/{trans_id}',
      '/payment/v1/balance',
      '/payment/v1/regions',
    ]) {
      expect(paths).toContain(seed);
    }
    expect([...origins]).toEqual([new URL(stack.url).origin]);
    await page.close();
  });
});
