/**
 * The OpenAPI 3.1 document of the whole API, generated from the zod schemas the routes validate with
 * (zod-openapi; decision 0099). Served at `GET /openapi.json`, written to docs/openapi.json by
 * `npm run openapi`, and used by the tests to check every answer they receive against it.
 */
import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import { ERROR_RESPONSES, SECURITY_SCHEMES } from './common.ts';
import { operatorPaths } from './operator.ts';
import { v1Paths } from './v1.ts';
import { webhookPaths } from './webhooks.ts';
import { v2alphaPaths } from './v2alpha.ts';
import { systemPaths } from './system.ts';

export type OpenApiDocument = ReturnType<typeof createDocument>;

const FAMILIES: ZodOpenApiPathsObject[] = [systemPaths, v1Paths, v2alphaPaths, operatorPaths, webhookPaths];

let built: OpenApiDocument | undefined;

/** The document; built once per process (the schemas are constants). */
export function openApiDocument(): OpenApiDocument {
  if (built) return built;
  built = createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Payment engine',
        version: '1.0.0',
        description:
          'Quotes and prepayments for the CPU, memory and storage of deployed apps (`/v2alpha`), fixed-price plans paid from a balance (`/payment/v1`), webhook endpoints, and the operator’s routes (`/operator/v1`). Amounts are exact decimals: strings in /v2alpha, JSON numbers written from their decimal text in /payment/v1. Every refusal answers the `Error` body. docs/guide.md walks every flow.',
      },
      servers: [{ url: '/', description: 'This engine' }],
      components: { securitySchemes: SECURITY_SCHEMES, responses: ERROR_RESPONSES },
      paths: Object.assign({}, ...FAMILIES),
    },
    {
      // A JSON number kept exact (the /payment/v1 style) is a zod custom type: it is a number on the wire.
      override: ({ jsonSchema, zodSchema }) => {
        if (zodSchema._zod.def.type === 'custom' && Object.keys(jsonSchema).length === 0) jsonSchema.type = 'number';
      },
    },
  );
  return built;
}

/** The document as docs/openapi.json holds it: two-space JSON and a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
