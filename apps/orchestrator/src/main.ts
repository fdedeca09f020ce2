#!/usr/bin/env node
/** The orchestrator, in place of the two CFS Logic Apps: alerts into the CRM, the rules framework, commands to devices and their feedback and acknowledgements, registration. */
import { createOrchestrator, runProcessMain } from '@fieldlink/composition';

process.exitCode = await runProcessMain({ name: 'orchestrator', create: createOrchestrator });
