// Starts the telemetry-ingest worker from its TypeScript sources: worker threads of Node 20 do not
// take the parent's `--import tsx`, so the worker registers tsx itself before loading them.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
