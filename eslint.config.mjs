// One flat config for the whole workspace. The module-boundary rule is what keeps the hexagon
// honest: a project may only import the layers its `layer:*` tag allows (see
// docs/architecture.md, "Layers and what each may import").
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/.nx/**', 'tmp/**', '**/vite.config.*.timestamp*', '**/vitest.config.*.timestamp*', '**/public/vendor/**'],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.js', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: false,
          depConstraints: [
            { sourceTag: 'layer:domain', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'layer:ports', onlyDependOnLibsWithTags: ['layer:domain'] },
            { sourceTag: 'layer:flows', onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain'] },
            { sourceTag: 'layer:adapter', onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain'] },
            { sourceTag: 'layer:emulator', onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain'] },
            { sourceTag: 'layer:ui', onlyDependOnLibsWithTags: ['layer:ui', 'layer:flows', 'layer:ports', 'layer:domain'] },
            {
              sourceTag: 'layer:composition',
              onlyDependOnLibsWithTags: ['layer:ui', 'layer:flows', 'layer:adapter', 'layer:emulator', 'layer:ports', 'layer:domain'],
            },
            {
              sourceTag: 'layer:app',
              onlyDependOnLibsWithTags: ['layer:composition', 'layer:ui', 'layer:flows', 'layer:adapter', 'layer:emulator', 'layer:ports', 'layer:domain'],
            },
            { sourceTag: 'layer:tools', onlyDependOnLibsWithTags: ['*'] },
            { sourceTag: 'layer:contracts', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Type-aware rules: a promise nobody awaits loses its error, a promise where a callback's
    // return is ignored runs unsupervised, and a switch over a union must name every member.
    // Every file under a project's src/ belongs to that project's tsconfig.json.
    files: ['**/src/**/*.ts', '**/src/**/*.mts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    // Tests of flows and of the web UIs run the real in-memory adapters; their production code may not.
    files: ['libs/flows/**/*.test.ts', 'libs/ui/**/*.test.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'layer:flows', onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain', 'layer:adapter'] },
            { sourceTag: 'layer:ui', onlyDependOnLibsWithTags: ['layer:ui', 'layer:flows', 'layer:ports', 'layer:domain', 'layer:adapter'] },
          ],
        },
      ],
    },
  },
  {
    // Consumer pacts of adapters use the contracts' kit (it waits out the mock server's bookkeeping),
    // may run the adapter against its service's emulator or stand-in (`role:standin`, a test
    // fixture), and may hand what the adapter read to the flow that consumes it (with the in-memory
    // adapters around it), since the consumer of the pact is that flow.
    files: ['libs/adapters/**/*.pact.test.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            {
              sourceTag: 'layer:adapter',
              onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain', 'layer:contracts', 'layer:emulator', 'role:standin', 'layer:flows', 'layer:adapter'],
            },
          ],
        },
      ],
    },
  },
  {
    // An adapter's tests may run it against the emulator of its service, or against the protocol
    // stand-ins of its services (tools/azure-standins, tagged `role:standin`): a devDependency, a
    // test fixture. The stand-ins import no adapter, so the dependency points one way.
    files: ['libs/adapters/**/*.test.ts'],
    ignores: ['libs/adapters/**/*.pact.test.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [{ sourceTag: 'layer:adapter', onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain', 'layer:emulator', 'role:standin'] }],
        },
      ],
    },
  },
  {
    // The composition's tests may check what it wires (e.g. `fieldlink doctor`) against the stand-ins.
    files: ['libs/composition/**/*.test.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            {
              sourceTag: 'layer:composition',
              onlyDependOnLibsWithTags: ['layer:ui', 'layer:flows', 'layer:adapter', 'layer:emulator', 'layer:ports', 'layer:domain', 'role:standin'],
            },
          ],
        },
      ],
    },
  },
  {
    // Provider verifications record their outcome through the contracts' kit, which the matrix reads;
    // an adapter's verification sets its provider states up on the stand-ins.
    files: ['**/*.pact-verify.test.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'layer:adapter', onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain', 'layer:contracts', 'layer:emulator', 'role:standin'] },
            { sourceTag: 'layer:flows', onlyDependOnLibsWithTags: ['layer:ports', 'layer:domain', 'layer:adapter', 'layer:contracts'] },
            { sourceTag: 'layer:ui', onlyDependOnLibsWithTags: ['layer:ui', 'layer:flows', 'layer:ports', 'layer:domain', 'layer:adapter', 'layer:contracts'] },
            {
              sourceTag: 'layer:app',
              onlyDependOnLibsWithTags: [
                'layer:composition',
                'layer:ui',
                'layer:flows',
                'layer:adapter',
                'layer:emulator',
                'layer:ports',
                'layer:domain',
                'layer:contracts',
              ],
            },
            { sourceTag: 'layer:tools', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
    },
  },
  {
    // Test runner configs share one setup file at the workspace root; they are not part of any layer.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    // The domain is pure: no I/O, no clock, no randomness. Lint says so where it can.
    files: ['libs/domain/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', 'fetch', 'setTimeout', 'setInterval', 'process'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'The domain takes time as an argument.' },
        { object: 'Math', property: 'random', message: 'The domain takes randomness as an argument.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'The domain takes time as an argument.' },
      ],
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'http', 'https', 'net', 'inversify', 'reflect-metadata'] }],
    },
  },
  {
    // Libraries take collaborators as constructor arguments; only composition roots know the container.
    files: ['libs/**/*.ts'],
    ignores: ['libs/domain/**', 'libs/composition/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'inversify', message: 'The DI container lives in composition roots (apps/*) only.' }] }],
    },
  },
  {
    // After the libraries' rule, which it extends for the flows (the later block wins). The flows
    // read the time from ClockPort and make ids with IdPort; they draw no random values and set no
    // timers of their own. Exceptions, each one file: shared/system-sources.ts (the system
    // clock, random ids and jitter, as defaults for a flow built without ports) and shared/timers.ts
    // (sleep, the commit tick, yielding to batches: waits on the event loop, not time).
    files: ['libs/flows/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'libs/flows/src/testing/**', 'libs/flows/src/shared/system-sources.ts', 'libs/flows/src/shared/timers.ts'],
    rules: {
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Flows read the time from their ClockPort.' },
        { object: 'Math', property: 'random', message: 'Flows take randomness from shared/system-sources.ts or as an argument.' },
        { object: 'crypto', property: 'randomUUID', message: 'Flows make ids with their IdPort.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Flows read the time from their ClockPort.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'inversify', message: 'The DI container lives in composition roots (apps/*) only.' },
            { name: 'node:crypto', importNames: ['randomUUID', 'randomBytes', 'randomInt', 'getRandomValues'], message: 'Flows make ids with their IdPort.' },
            { name: 'node:timers', message: 'Flows wait through shared/timers.ts.' },
            { name: 'node:timers/promises', message: 'Flows wait through shared/timers.ts.' },
          ],
        },
      ],
    },
  },
);
