/**
 * The contract check: every answer the HTTP tests receive is checked against the OpenAPI document (the
 * operation's documented statuses, content type and body schema), so the document cannot drift from
 * what the engine answers. Ajv validates the bodies as JSON Schema 2020-12, the dialect of OpenAPI 3.1.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../src/api/openapi/document.ts';

const DOCUMENT_ID = 'https://payment-engine.local/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  literalSegments: number;
  responses: Record<string, { content?: Record<string, unknown>; $ref?: string }>;
}

let state: { ajv: Ajv2020; routes: Route[]; validators: Map<string, ValidateFunction> } | undefined;

function load() {
  if (state) return state;
  const document = openApiDocument();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = (item as Record<string, { responses?: Route['responses'] } | undefined>)[method];
      if (!operation) continue;
      const segments = template.split('/');
      routes.push({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${segments.map((segment) => (segment.startsWith('{') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`),
        literalSegments: segments.filter((segment) => !segment.startsWith('{')).length,
        responses: operation.responses ?? {},
      });
    }
  }
  state = { ajv, routes, validators: new Map() };
  return state;
}

const pointer = (...parts: string[]) => parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** The documented operation a request reached, or undefined for a path no operation documents. */
function routeOf(method: string, path: string): Route | undefined {
  const { routes } = load();
  const candidates = routes.filter((route) => route.method === method && route.pattern.test(path));
  return candidates.sort((left, right) => right.literalSegments - left.literalSegments)[0];
}

/**
 * The problems of one answer against the document: none when it is as documented. A path the document
 * does not describe must still answer the error body when it fails.
 */
export function contractProblems(method: string, url: string, status: number, contentType: string | null, body: unknown, text: string): string[] {
  const upper = method.toUpperCase();
  if (upper === 'HEAD' || upper === 'OPTIONS') return [];
  const path = new URL(url, 'http://engine.local').pathname;
  const route = routeOf(upper, path);
  const { ajv, validators } = load();
  let schemaRef: string;
  if (!route) {
    if (status < 400) return [];
    schemaRef = `${DOCUMENT_ID}#/components/schemas/Error`;
  } else {
    const response = route.responses[String(status)];
    if (!response) return [`${upper} ${route.template} answered ${status}, which the document does not list (it lists ${Object.keys(route.responses).join(', ')})`];
    const resolved = response.$ref ? `${DOCUMENT_ID}${response.$ref}` : `${DOCUMENT_ID}#${pointer('', 'paths', route.template, upper.toLowerCase(), 'responses', String(status))}`;
    const media = response.$ref ? { 'application/json': {} } : response.content;
    if (!media) return text === '' ? [] : [`${upper} ${route.template} ${status}: the document says no body, the engine sent one`];
    const [type] = Object.keys(media);
    if (!contentType?.startsWith(type!)) return [`${upper} ${route.template} ${status}: content type ${contentType}, the document says ${type}`];
    if (type !== 'application/json') return [];
    schemaRef = `${resolved}${response.$ref ? '' : '/'}${response.$ref ? '/content/application~1json/schema' : pointer('content', type, 'schema')}`;
  }
  let validate = validators.get(schemaRef);
  if (!validate) {
    validate = ajv.compile({ $ref: schemaRef });
    validators.set(schemaRef, validate);
  }
  if (validate(body)) return [];
  return [`${upper} ${route?.template ?? path} ${status}: ${ajv.errorsText(validate.errors, { separator: '; ' })} in ${text.slice(0, 400)}`];
}
