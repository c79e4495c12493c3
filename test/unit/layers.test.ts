/**
 * The layer rules are enforced, not described: `npm run lint` runs ESLint (the workflow allow-list) and
 * dependency-cruiser (.dependency-cruiser.cjs). Here each is given planted violations and must refuse
 * them, and must pass what the rules allow; the real tree is checked by the lint step itself.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

describe('the workflow import allow-list and the HTTP layer without SQL (ESLint)', () => {
  // Only the import rule, without type information: the planted file exists only as text.
  const eslint = new ESLint({
    cwd: ROOT,
    ruleFilter: ({ ruleId }) => ruleId === '@typescript-eslint/no-restricted-imports' || ruleId === 'no-restricted-syntax',
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  });
  const refusals = async (code: string, filePath = 'src/workflows/planted.ts') => {
    const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
    return result!.messages.map((message) => message.ruleId);
  };

  it.each([
    ["import { connectTemporal } from '../temporal/client.ts';", 'the Temporal client'],
    ["import { recordTransaction } from '../ledger/ledger.ts';", 'the ledger'],
    ["import { createCardGateway } from '../gateway/index.ts';", 'a gateway'],
    ["import { loadConfig } from '../config.ts';", 'the configuration'],
    ["import { createActivities } from '../activities/index.ts';", 'activity code as a value'],
    ["import { readFileSync } from 'node:fs';", 'a Node built-in'],
    ["import { randomUUID } from 'crypto';", 'a Node built-in without node:'],
    ["import pg from 'pg';", 'a driver'],
    ["import { Client } from '@temporalio/client';", 'the client SDK'],
    ["import { x } from './nested/deeper.ts';", 'a file below the workflows folder'],
  ])('refuses %s (%s)', async (line) => {
    expect(await refusals(`${line}\nexport const used = [${line.match(/\{ (\w+)/)?.[1] ?? 'null'}];\n`)).toEqual(['@typescript-eslint/no-restricted-imports']);
  });

  it('allows what workflows use: the workflow SDK, src/domain, other workflow files, activity types', async () => {
    const code = [
      "import { proxyActivities } from '@temporalio/workflow';",
      "import { ApplicationFailure } from '@temporalio/common';",
      "import { Dec } from '../domain/money.ts';",
      "import { cancelUpdate } from './prepay-messages.ts';",
      "import type { Activities } from '../activities/index.ts';",
      'export const used: unknown[] = [proxyActivities, ApplicationFailure, Dec, cancelUpdate];',
      'export type Used = Activities;',
    ].join('\n');
    expect(await refusals(code)).toEqual([]);
  });

  it('refuses SQL in the HTTP layer and in activities, which belongs in a repository', async () => {
    const code = "import type { EntityManager } from '@mikro-orm/postgresql';\nexport const rows = (em: EntityManager) => em.execute('select 1');\n";
    expect(await refusals(code, 'src/api/v2alpha/planted.ts')).toEqual(['no-restricted-syntax']);
    expect(await refusals(code, 'src/activities/planted.ts')).toEqual(['no-restricted-syntax']);
    expect(await refusals(code, 'src/db/repositories/planted.ts')).toEqual([]);
  });

  it('leaves other layers to the dependency rules', async () => {
    expect(await refusals("import { connectTemporal } from '../temporal/client.ts';\nexport const used = connectTemporal;\n", 'src/activities/planted.ts')).toEqual([]);
  });
});

describe('the dependency rules (dependency-cruiser)', () => {
  let tree: string;
  beforeAll(() => {
    tree = mkdtempSync(join(tmpdir(), 'layers-'));
    copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(tree, '.dependency-cruiser.cjs'));
    writeFileSync(
      join(tree, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', allowImportingTsExtensions: true, noEmit: true }, include: ['src'] }),
    );
  });
  afterAll(() => rmSync(tree, { recursive: true, force: true }));

  /** Writes the files (path → source) into a fresh src/ and answers the rules violated, as "rule: from → to". */
  async function violations(files: Record<string, string>): Promise<string[]> {
    rmSync(join(tree, 'src'), { recursive: true, force: true });
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), source);
    }
    const cli = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');
    const { stdout } = await run(process.execPath, [cli, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: tree }).catch(
      // it exits non-zero when it finds violations; the report is on stdout all the same
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
    );
    const report = JSON.parse(stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    return report.summary.violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`).sort();
  }

  it('refuses planted violations: a cycle, a lower layer importing a higher one, anything importing api/, workflow code in an activity', async () => {
    const found = await violations({
      'src/api/app.ts': 'export const app = 1;\n',
      'src/domain/planted.ts': "import { app } from '../api/app.ts';\nexport const used = app;\n",
      'src/pricing/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'src/pricing/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
      'src/gateway/card-gateway.ts': 'export interface TokenisedCard { last4: string }\n',
      'src/db/cards.ts': "import type { TokenisedCard } from '../gateway/card-gateway.ts';\nexport type Card = TokenisedCard;\n",
      'src/workflows/prepay.ts': 'export async function prepayWorkflow() {}\n',
      'src/activities/planted.ts': "import { prepayWorkflow } from '../workflows/prepay.ts';\nexport const used = prepayWorkflow;\n",
      'src/ledger/ledger.ts': 'export const ledger = 1;\n',
      'src/workflows/planted.ts': "import { ledger } from '../ledger/ledger.ts';\nexport const used = ledger;\n",
    });
    expect(found).toEqual(
      [
        // a cycle is reported once, at the first of its files
        'no-circular: src/pricing/a.ts → src/pricing/b.ts',
        'nothing-imports-api: src/domain/planted.ts → src/api/app.ts',
        'domain-imports-only-below: src/domain/planted.ts → src/api/app.ts',
        'db-imports-only-below: src/db/cards.ts → src/gateway/card-gateway.ts',
        'activities-use-workflows-by-type: src/activities/planted.ts → src/workflows/prepay.ts',
        'workflows-deterministic-imports: src/workflows/planted.ts → src/ledger/ledger.ts',
      ].sort(),
    );
  });

  it('allows the directions of the layers, type-only cycles, and activities taking workflow types and message definitions', async () => {
    const found = await violations({
      'src/domain/money.ts': 'export const dec = 1;\n',
      'src/db/repo.ts': "import { dec } from '../domain/money.ts';\nexport const repo = dec;\n",
      'src/ledger/ledger.ts': "import { repo } from '../db/repo.ts';\nexport const ledger = repo;\n",
      'src/workflows/messages-owner.ts': "import type { Activities } from '../activities/index.ts';\nexport type Steps = Activities;\nexport async function wf() {}\n",
      'src/workflows/prepay-messages.ts': "export const cancelUpdate = 'cancel';\n",
      'src/activities/index.ts':
        "import type { wf } from '../workflows/messages-owner.ts';\nimport { cancelUpdate } from '../workflows/prepay-messages.ts';\nimport { ledger } from '../ledger/ledger.ts';\nexport type Activities = { run: typeof wf; name: typeof cancelUpdate; n: typeof ledger };\nexport const names = [cancelUpdate, ledger];\n",
      'src/temporal/starter.ts': "import { wf } from '../workflows/messages-owner.ts';\nexport const start = wf;\n",
      'src/api/route.ts': "import { start } from '../temporal/starter.ts';\nimport { ledger } from '../ledger/ledger.ts';\nexport const route = [start, ledger];\n",
    });
    expect(found).toEqual([]);
  });

  it('lets every layer but domain and workflows record metrics, and keeps the recorder a leaf (decision 0099)', async () => {
    const found = await violations({
      'src/metrics/catalogue.ts': 'export const METRICS = {};\n',
      'src/metrics/record.ts': "import { METRICS } from './catalogue.ts';\nimport { repo } from '../db/repo.ts';\nexport const count = () => [METRICS, repo];\n",
      'src/db/repo.ts': 'export const repo = 1;\n',
      'src/ledger/ledger.ts': "import { count } from '../metrics/record.ts';\nexport const ledger = count;\n",
      'src/domain/money.ts': "import { count } from '../metrics/record.ts';\nexport const dec = count;\n",
    });
    expect(found).toEqual(
      [
        'domain-imports-only-below: src/domain/money.ts → src/metrics/record.ts',
        'metric-leaves-import-nothing: src/metrics/record.ts → src/db/repo.ts',
        // the folder's own rule says it too: db is below no part of src/metrics/
        'metrics-imports-only-below: src/metrics/record.ts → src/db/repo.ts',
      ].sort(),
    );
  });
});
