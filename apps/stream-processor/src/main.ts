#!/usr/bin/env node
/** The stream processor, in place of the CFS Stream Analytics job: telemetry → rules → alerts queue, per-minute aggregates and device health. */
import { createStreamProcessor, runProcessMain } from '@fieldlink/composition';

// Exits with the code even when a connection that never answered is still pending.
process.exit(await runProcessMain({ name: 'stream-processor', create: createStreamProcessor }));
