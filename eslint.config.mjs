import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'examples/', 'coverage/', 'migrations/.snapshot-*.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['jest.config.js'],
    languageOptions: { globals: { module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Determinism: workflow code may import only @temporalio/workflow, src/contracts, src/domain and activity types.
    files: ['workflows/**/*.ts', 'test/fixtures/**/*.workflows.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net', 'util'],
              message: 'No Node built-ins in workflows: use activities.',
            },
            {
              group: [
                '@mikro-orm/*',
                'pg',
                'openai',
                '@anthropic-ai/*',
                'winston',
                'prom-client',
                'koa',
                '@koa/*',
                'ioredis',
              ],
              message: 'No I/O libraries in workflows: use activities.',
            },
            {
              group: [
                '**/src/db/**',
                '**/src/llm/**',
                '**/src/api/**',
                '**/src/sandbox/**',
                '**/src/target/**',
                '**/src/temporal/**',
              ],
              message: 'Workflows import only src/contracts and src/domain.',
            },
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'Import activity types only (import type).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the workflow API (uuid4) for randomness.' },
        {
          object: 'Date',
          property: 'now',
          message: 'Workflow time is deterministic; prefer workflowInfo() / sleep().',
        },
      ],
    },
  },
);
