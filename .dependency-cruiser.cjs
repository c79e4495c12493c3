/**
 * The layers of src/, checked by `npm run lint` (dependency-cruiser). From the top:
 *
 *   entry points   src/worker.ts, src/api/server.ts, src/watcher/main.ts, src/dev/
 *   api            HTTP routes and middleware: nothing imports it
 *   watcher        the built-in chain watcher
 *   activities     what workflows do, run by the worker
 *   workflows      deterministic: domain, their own messages and activity *types* only (also in eslint.config.js)
 *   temporal       the client side: one starter per workflow, search attributes, schedules
 *   chain          deposit addresses and the delivery of transfers
 *   ledger, gateway, pricing, webhooks (signing, target checks and the HTTP attempt of a delivery)
 *   db             entities, migrations, repositories
 *   domain         money, rules, ids: imports nothing of the project
 *
 * config.ts, logger.ts, stop-signal.ts and sdk-logger.ts are leaves anyone but domain and workflows may use, and so are the metric
 * catalogue and its recorder (src/metrics/catalogue.ts, record.ts: decision 0099), which import nothing of
 * the project. The rest of src/metrics/ (the API's registry, the worker's exporter and metered gateway)
 * is used by the API and the worker side. Type-only imports count like any other, except where a rule
 * says so; a cycle made only of type imports is allowed.
 */
const layer = (name) => `^src/${name}/`;
const leaves = ['^src/(config|logger|stop-signal|sdk-logger)\\.ts$', '^src/metrics/(catalogue|record)\\.ts$'];
const below = (...names) => [`^src/(${names.join('|')})/`, ...leaves];

/** for each layer, what it may import besides itself */
const allowed = {
  domain: [],
  db: below('domain'),
  ledger: below('domain', 'db'),
  gateway: below('domain', 'db'),
  pricing: below('domain', 'db'),
  webhooks: below('domain'),
  temporal: below('domain', 'db', 'workflows'),
  chain: below('domain', 'db', 'temporal'),
  watcher: below('domain', 'db', 'temporal', 'chain', 'metrics'),
  metrics: below('domain', 'gateway'),
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles (a cycle of type-only imports is allowed).',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'metric-leaves-import-nothing',
      severity: 'error',
      comment: 'The metric catalogue and recorder, used by every layer, import nothing of the project but each other.',
      from: { path: leaves[1] },
      to: { path: '^src/', pathNot: leaves[1] },
    },
    {
      name: 'nothing-imports-api',
      severity: 'error',
      comment: 'The HTTP layer is the top: nothing below it imports it.',
      from: { path: '^src/', pathNot: '^src/api/' },
      to: { path: '^src/api/' },
    },
    ...Object.entries(allowed).map(([name, paths]) => ({
      name: `${name}-imports-only-below`,
      severity: 'error',
      comment: `src/${name}/ may import only ${paths.length ? paths.join(', ') : 'itself'} (see .dependency-cruiser.cjs).`,
      from: { path: layer(name) },
      to: { path: '^src/', pathNot: [layer(name), ...paths] },
    })),
    {
      name: 'api-not-worker-side',
      severity: 'error',
      comment: 'Routes reach workflows through src/temporal/ starters, never through activities or the watcher.',
      from: { path: layer('api') },
      to: { path: ['^src/(activities|watcher|dev)/', '^src/worker\\.ts$'] },
    },
    {
      name: 'activities-not-api-or-entry-points',
      severity: 'error',
      comment: 'Activities run in the worker: no HTTP layer, watcher or entry point, and workflows only by type or message definition.',
      from: { path: layer('activities') },
      to: { path: ['^src/(api|watcher|dev)/', '^src/worker\\.ts$'] },
    },
    {
      name: 'activities-use-workflows-by-type',
      severity: 'error',
      comment: 'An activity takes a workflow input type or its message definitions (*-messages.ts), never workflow code.',
      from: { path: layer('activities') },
      to: { path: layer('workflows'), pathNot: '-messages\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-deterministic-imports',
      severity: 'error',
      comment: 'Workflow code imports src/domain, other workflow files and activity types only.',
      from: { path: layer('workflows') },
      to: { path: '^src/', pathNot: [layer('workflows'), layer('domain'), layer('activities')] },
    },
    {
      name: 'workflows-activities-by-type',
      severity: 'error',
      comment: 'Workflows see activities only as types (proxyActivities<Activities>).',
      from: { path: layer('workflows') },
      to: { path: layer('activities'), dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/db/migrations/' },
  },
};
