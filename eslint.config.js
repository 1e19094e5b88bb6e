// ESLint 9 flat config: typescript-eslint's recommended rules over the TypeScript and the build
// scripts. Formatting is Prettier's business (npm run format:check), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'build/',
      'test-output/',
      'pagewalk-findings/',
      'src/core/wasm-binary.generated.ts',
      // AssemblyScript: decorators on top-level functions (@inline) and its own primitive types
      // are not TypeScript; asc checks this code when it compiles it.
      'assembly/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      // Model functions are generators so that every kernel path is called the same way (yield*),
      // whether or not one implementation of it (native vs paravirt, a knob's branch) can block.
      'require-yield': 'off',
      // Model functions keep the kernel's parameter lists; a parameter one version or one backend
      // does not use is named with a leading underscore.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Generator functions cannot be arrows, so callbacks that are generators capture `this` as `self`.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
);
