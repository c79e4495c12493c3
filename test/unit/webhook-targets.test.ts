/** Where webhooks may go: the address ranges refused without WEBHOOK_ALLOW_PRIVATE_TARGETS, checked again at connection time. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addressRange, checkTargetUrl, WebhookTargetError } from '../../src/webhooks/targets.ts';
import { postWebhook } from '../../src/webhooks/sender.ts';

const strict = { allowPrivate: false, requireHttps: false };

describe('webhook targets', () => {
  it('names the ranges of private, loopback and link-local addresses, and public ones as unicast', () => {
    expect(addressRange('127.0.0.1')).toBe('loopback');
    expect(addressRange('10.0.0.1')).toBe('private');
    expect(addressRange('172.20.0.1')).toBe('private');
    expect(addressRange('169.254.169.254')).toBe('linkLocal');
    expect(addressRange('::1')).toBe('loopback');
    expect(addressRange('fe80::1')).toBe('linkLocal');
    expect(addressRange('fd00::1')).toBe('uniqueLocal');
    expect(addressRange('::ffff:10.0.0.1')).toBe('private');
    expect(addressRange('100.64.0.1')).toBe('carrierGradeNat');
    expect(addressRange('93.184.216.34')).toBe('unicast');
    expect(addressRange('2606:2800:220:1:248:1893:25c8:1946')).toBe('unicast');
  });

  it('refuses http in production and credentials in the URL', async () => {
    await expect(checkTargetUrl('http://93.184.216.34/hooks', { allowPrivate: false, requireHttps: true })).rejects.toThrow(WebhookTargetError);
    await expect(checkTargetUrl('https://user:secret@93.184.216.34/hooks', strict)).rejects.toThrow(/credentials/);
    await expect(checkTargetUrl('https://93.184.216.34/hooks', { allowPrivate: false, requireHttps: true })).resolves.toBeInstanceOf(URL);
  });

  it('checks the address again when it connects: a name that resolves to loopback reaches nothing', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests += 1;
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const blocked = await postWebhook(`http://localhost:${port}/hooks`, {}, '{}', { ...strict, timeoutMs: 5000 });
      expect(blocked).toMatchObject({ statusCode: null, error: expect.stringMatching(/^blocked: the address .* is loopback/) });
      const literal = await postWebhook(`http://127.0.0.1:${port}/hooks`, {}, '{}', { ...strict, timeoutMs: 5000 });
      expect(literal).toMatchObject({ statusCode: null, error: expect.stringMatching(/^blocked: /) });
      expect(requests).toBe(0);
      // the same receiver is reached when private targets are allowed
      expect(await postWebhook(`http://localhost:${port}/hooks`, {}, '{}', { allowPrivate: true, requireHttps: false, timeoutMs: 5000 })).toMatchObject({
        statusCode: 200,
        error: null,
      });
      expect(requests).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
