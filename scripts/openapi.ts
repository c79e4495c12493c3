/**
 * `npm run openapi`: writes the OpenAPI document the API serves at /openapi.json to docs/openapi.json.
 * A unit test fails when the committed file is not current (test/unit/openapi.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument, openApiText } from '../src/api/openapi/document.ts';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(target, openApiText());
process.stdout.write(`wrote ${target}: ${Object.keys(openApiDocument().paths ?? {}).length} paths\n`);
