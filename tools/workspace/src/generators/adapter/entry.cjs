// Nx loads generators with require() and, on Node 20, has no TypeScript loader of its own: tsx
// compiles the TypeScript source as it is required.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS entry, required by Nx */
require('../source-resolution.cjs');
require('tsx/cjs/api').register();
module.exports = require('./generator.ts');
