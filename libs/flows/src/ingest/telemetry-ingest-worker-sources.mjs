// Flows 3–6 (ingest): starts an ingest worker thread from the TypeScript sources.
// Starts the telemetry-ingest worker from its TypeScript sources: worker threads of Node 20 do not
// take the parent's `--import tsx` nor its module hooks, so the worker registers tsx itself, and
// resolves `@fieldlink/*` to their sources (the `@fieldlink/source` export condition, see
// docs/architecture.md, Conventions) before loading them.
import { register as registerHooks } from 'node:module';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const addSourceCondition = `export async function resolve(specifier, context, next) {
  return next(specifier, context.conditions.includes('@fieldlink/source') ? context : { ...context, conditions: [...context.conditions, '@fieldlink/source'] });
}`;
registerHooks(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
register();
await import(workerData.entry);
