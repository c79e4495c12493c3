/**
 * The API's Prometheus metrics (decision 0099): a registry of the app's own, never prom-client's global
 * one (tests build several apps in one process, and each must count only its requests), with Node's
 * process metrics, the request histogram, the replays of stored Idempotency-Key answers and the
 * catalogue's metrics that the API moves. `GET /metrics` serves them, without a key like /healthz.
 */
import { Router } from '@koa/router';
import type { Middleware, ParameterizedContext } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS, type MetricName } from './catalogue.ts';
import { withRecorder, type Recorder } from './record.ts';

export interface ApiMetrics {
  registry: Registry;
  /** Times every request and makes the app's registry the recorder of what it counts; goes before the error handler, which sets the final status. */
  middleware: Middleware;
  /** `GET /metrics` */
  router: Router;
}

/** Seconds; up to a money request that waits its whole WORKFLOW_WAIT_SECONDS (25 by default) for a workflow. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API requests by method, route template (unmatched: no route took it, e.g. refused before routing) and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const replays = new Counter({
    name: 'idempotent_replays_total',
    help: 'Requests answered with the stored outcome of their Idempotency-Key (header Idempotent-Replayed: true), by route template.',
    labelNames: ['route'],
    registers: [registry],
  });
  const recorder = registryRecorder(registry);

  const middleware: Middleware = async (ctx, next) => {
    const end = duration.startTimer();
    try {
      await withRecorder(recorder, next);
    } finally {
      const route = routeTemplate(ctx);
      end({ method: METHODS.has(ctx.method) ? ctx.method : 'other', route, status: String(ctx.status) });
      if (ctx.response.get('Idempotent-Replayed') === 'true') replays.inc({ route });
    }
  };

  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.body = await registry.metrics();
    ctx.type = registry.contentType;
  });
  return { registry, middleware, router };
}

/**
 * The route's template as the router declared it (`/v2alpha/teams/:team_id/balances`), never the raw path: one
 * series per route, not per id. Taken from the layers the routers matched, the route ones only (a router's own
 * middleware, such as its scope check, is a layer too): the route serving this method as the router picks it,
 * else (a 405) the path's route; `unmatched` when no route has the path or the request was refused before routing.
 */
function routeTemplate(ctx: ParameterizedContext): string {
  const layers = (ctx as { matched?: { path: unknown; methods: string[] }[] }).matched ?? [];
  const routes = layers.filter((layer) => layer.methods.length > 0 && typeof layer.path === 'string');
  const route = routes.findLast((layer) => layer.methods.includes(ctx.method)) ?? routes.at(-1);
  return route ? String(route.path) : 'unmatched';
}

/** The catalogue's metrics of `process` on `registry`. A gauge joins the registry when first set, so that it is absent, not 0, before anything was measured. */
export function registryRecorder(registry: Registry, process: 'api' | 'watcher' = 'api'): Recorder {
  const counters = new Map<MetricName, Counter>();
  const gauges = new Map<MetricName, Gauge>();
  for (const [name, metric] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
    if (metric.process !== process && !(metric.process === 'both' && process === 'api')) continue;
    const options = { name, help: metric.help, labelNames: [...metric.labels] };
    if (metric.type === 'counter') counters.set(name, new Counter({ ...options, registers: [registry] }));
    else gauges.set(name, new Gauge({ ...options, registers: [] }));
  }
  return {
    count: (name, labels, by) => counters.get(name)?.inc(labels, by),
    set: (name, labels, value) => {
      const gauge = gauges.get(name);
      if (!gauge) return;
      if (!registry.getSingleMetric(name)) registry.registerMetric(gauge);
      gauge.set(labels, value);
    },
  };
}
