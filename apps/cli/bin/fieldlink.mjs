#!/usr/bin/env node
// The `fieldlink` command. It runs the built JavaScript (dist/main.js). Inside the monorepo, where
// the TypeScript sources sit beside it and tsx (a dev dependency) is installed, it runs the sources
// instead, with `@fieldlink/*` packages resolved to their sources too: no build while developing.
// A production install (`npm ci --omit=dev`, no tsx) and the published package run dist.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const source = new URL('../src/main.ts', import.meta.url);
const tsx = existsSync(source) ? await import('tsx/esm/api').catch(() => undefined) : undefined;
if (tsx === undefined) {
  await import('../dist/main.js');
} else {
  const addSourceCondition = `export async function resolve(specifier, context, next) {
    return next(specifier, context.conditions.includes('@fieldlink/source') ? context : { ...context, conditions: [...context.conditions, '@fieldlink/source'] });
  }`;
  register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
  tsx.register();
  await import(source.href);
}
