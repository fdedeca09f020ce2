#!/usr/bin/env node
/** The orchestrator, in place of the two CFS Logic Apps: alerts into the CRM, the rules framework, commands to devices and their feedback and acknowledgements, registration. */
import { createOrchestrator, runProcessMain } from '@fieldlink/composition';

// Exits with the code even when a connection that never answered is still pending.
process.exit(await runProcessMain({ name: 'orchestrator', create: createOrchestrator }));
