// Lint: type-aware TypeScript rules (no floating promises) everywhere, and determinism for workflow code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// An allow-list: workflow files import @temporalio/workflow and common, src/domain, their own folder, and
// activities as types only. Anything else (a Node built-in, a driver, ../temporal/, ../ledger/) fails here,
// before the worker's bundler would.
const workflowImports = {
  patterns: [
    {
      regex: '^(?!@temporalio/(workflow|common)$)[^.]',
      message: 'Workflow code is deterministic: of packages it imports only @temporalio/workflow and @temporalio/common (side effects go in activities).',
    },
    {
      regex: '^(\\./(?![^/]+$)|\\.\\./(?!(domain|activities)/[^/]+$))',
      message: 'Workflow code imports only src/domain, other workflow files and activity types.',
    },
    { regex: '^\\.\\./activities/', message: 'Workflows see activities only as types (import type).', allowTypeImports: true },
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
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowImports] },
  },
  {
    // Routes, middleware and activities reach PostgreSQL through src/db/repositories (or src/ledger), never with SQL of their own.
    files: ['src/api/**/*.ts', 'src/activities/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='execute']", message: 'No SQL in src/api/ or src/activities/: put the query in a repository (src/db/repositories/).' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
