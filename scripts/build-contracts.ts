/**
 * `npm run build:contracts`: compiles contracts/*.sol with the solc compiler that the npm package `solc`
 * ships (its version is pinned in package.json and in each pragma; no download) and writes
 * contracts/artifacts/<Name>.json with the ABI and the deployment bytecode. The artifacts are committed,
 * so the tests deploy exactly the bytecode kept in the repository; rerun this after changing a contract.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Solc {
  version(): string;
  compile(input: string): string;
}

interface CompilerOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONTRACTS = join(ROOT, 'contracts');
const ARTIFACTS = join(CONTRACTS, 'artifacts');
/** Pinned so that the bytecode does not depend on the compiler's default target. */
const EVM_VERSION = 'cancun';

const solc = createRequire(import.meta.url)('solc') as Solc;
const files = readdirSync(CONTRACTS)
  .filter((name) => name.endsWith('.sol'))
  .sort();
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(files.map((name) => [name, { content: readFileSync(join(CONTRACTS, name), 'utf8') }])),
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: EVM_VERSION,
    // No metadata hash: the bytecode then depends only on the source and these settings.
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input))) as CompilerOutput;
const problems = (output.errors ?? []).filter((error) => error.severity === 'error');
for (const problem of output.errors ?? []) process.stderr.write(`${problem.formattedMessage}\n`);
if (problems.length > 0) process.exit(1);

mkdirSync(ARTIFACTS, { recursive: true });
for (const file of files) {
  for (const [contractName, contract] of Object.entries(output.contracts?.[file] ?? {})) {
    const artifact = {
      contractName,
      source: `contracts/${basename(file)}`,
      compiler: { solc: solc.version(), evmVersion: EVM_VERSION, optimizerRuns: 200 },
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
    };
    writeFileSync(join(ARTIFACTS, `${contractName}.json`), `${JSON.stringify(artifact, null, 2)}\n`);
    process.stdout.write(`contracts/artifacts/${contractName}.json\n`);
  }
}
