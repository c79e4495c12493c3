/** The routes outside the API families: health, the reference itself, metrics, and the external watcher's report. */
import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ReportTransferBody } from '../v2alpha/watcher-schemas.ts';
import { errors, json, operation, security } from './common.ts';

const tags = ['System'];
const Checks = z.strictObject({ database: z.boolean(), temporal: z.boolean() });
const text = (description: string, type: string) => ({ description, content: { [type]: { schema: z.string() } } });

export const systemPaths: ZodOpenApiPathsObject = {
  '/healthz': {
    get: { operationId: 'healthz', summary: 'The process is up', tags, security: [], responses: { 200: json('Up.', z.strictObject({ status: z.literal('ok') })), ...errors() } },
  },
  '/readyz': {
    get: {
      operationId: 'readyz',
      summary: 'PostgreSQL and Temporal both answer',
      description: 'A 503 names what is unreachable (`checks`).',
      tags,
      security: [],
      responses: { 200: json('Ready.', z.strictObject({ status: z.literal('ready'), checks: Checks })), ...errors() },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      tags,
      security: [],
      responses: { 200: json('The OpenAPI 3.1 document.', z.record(z.string(), z.unknown())), ...errors() },
    },
  },
  '/docs': {
    get: { operationId: 'docs', summary: 'The API reference, rendered (Swagger UI)', tags, security: [], responses: { 200: text('An HTML page.', 'text/html'), ...errors() } },
  },
  '/docs/{asset}': {
    get: {
      operationId: 'docsAsset',
      summary: 'A file of the reference page',
      tags,
      security: [],
      requestParams: { path: z.object({ asset: z.enum(['init.js', 'swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png']) }) },
      responses: {
        200: { description: 'The file.', content: { 'text/javascript': { schema: z.string() }, 'text/css': { schema: z.string() }, 'image/png': { schema: z.string() } } },
        ...errors(404),
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics of this API process',
      description: 'The metrics are listed in docs/operations.md.',
      tags,
      security: [],
      responses: { 200: text('Prometheus text exposition format.', 'text/plain'), ...errors() },
    },
  },
  '/v2alpha/watchers/transfers': {
    post: operation({
      operationId: 'reportTransfer',
      summary: 'Report an ERC20 transfer (an external chain watcher)',
      description:
        'Signed with `X-Watcher-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.<raw body>">` under WATCHER_SIGNING_SECRET. The transfer is credited once however often it is reported (docs/tokens.md). ' +
        'When the engine has CHAIN_RPC_URL, the report is checked against its node before anything is recorded: a report the chain contradicts is 422 `unprocessable` naming the field (`tx_hash`, `block_number`, `block_hash`, `log_index`, `token`, `from`, `to`, `amount`, `block_timestamp`), a node that cannot answer is 503, and the depth is counted by the node (`confirmations` is then ignored). Without CHAIN_RPC_URL the signed report is trusted.',
      tags: ['Token payments'],
      security: security('watcherKey'),
      requestParams: { header: z.object({ 'X-Watcher-Signature': z.string() }) },
      requestBody: { content: { 'application/json': { schema: ReportTransferBody } } },
      responses: {
        200: json(
          'Recorded, and credited or signalled when deep enough.',
          z.strictObject({
            code: z.literal(0),
            message: z.literal('success'),
            status: z.enum(['seen', 'signalled', 'credited', 'orphaned']),
            reason: z.string(),
            duplicate: z.boolean(),
            required_confirmations: z.int(),
            pre_pay_id: z.int().optional(),
            trans_id: z.string().optional(),
          }),
        ),
      },
      errors: [409, 422],
    }),
  },
};
