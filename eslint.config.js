// Lint rules: typescript-eslint's recommended set, plus the few rules that catch real bugs in
// async server code (floating promises) and keep tests honest (no focused or skipped tests).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'data/', 'charts/', 'deploy/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only', message: 'focused tests hide failures' },
        { object: 'it', property: 'skip', message: 'skipped tests hide failures' },
        { object: 'describe', property: 'only', message: 'focused tests hide failures' },
        { object: 'describe', property: 'skip', message: 'skipped tests hide failures' },
        { object: 'test', property: 'only', message: 'focused tests hide failures' },
        { object: 'test', property: 'skip', message: 'skipped tests hide failures' },
      ],
    },
  },
);
