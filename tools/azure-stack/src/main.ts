#!/usr/bin/env node
/**
 * `npm run stack:azure [-- --dir <dir>]`: the local Azure stack (see local-azure-stack.ts) until
 * Ctrl-C. Prints how to point Fieldlink at it; the settings are in `<dir>/fieldlink.azure.json`
 * and the secrets in `<dir>/stack.env` (default dir: `.fieldlink/azure-stack`).
 */
import { parseArgs } from 'node:util';
import { startLocalAzureStack } from './local-azure-stack.js';

const { values } = parseArgs({
  options: { dir: { type: 'string', default: '.fieldlink/azure-stack' }, partitions: { type: 'string', default: '4' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help === true) {
  process.stdout.write(
    'Usage: npm run stack:azure [-- --dir <dir>] [--partitions <n>]\n\nStarts the IoT hub, Event Hubs and Service Bus stand-ins, Azurite and the Dataverse emulator on 127.0.0.1, until Ctrl-C.\n',
  );
  process.exit(0);
}
const partitionCount = Number(values.partitions);
if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 32) {
  process.stderr.write(`--partitions must be a whole number from 1 to 32, got "${values.partitions}"\n`);
  process.exit(2);
}
const stack = await startLocalAzureStack({ dir: values.dir!, partitionCount });
const s = stack.settings.config as {
  iotHub: { hostName: string };
  dataverse: { url: string };
  eventHubs: { consumerGroup: string; repliesConsumerGroup: string };
  serviceBus: { alertsQueue: string; outboundQueue: string };
};
process.stdout.write(
  [
    'Local Azure stack on 127.0.0.1:',
    `  IoT hub             ${s.iotHub.hostName} (REST, AMQPS, MQTTS; CA ${stack.caFile})`,
    `  Event Hubs endpoint ${stack.hubName}, ${partitionCount} partitions, consumer groups $Default, ${s.eventHubs.consumerGroup} (stream processor), ${s.eventHubs.repliesConsumerGroup} (device replies)`,
    `  Service Bus         queues ${s.serviceBus.alertsQueue} (alerts), ${s.serviceBus.outboundQueue} (outbound)`,
    `  Blob (Azurite)      ${stack.azurite.blobEndpoint}: devicerules (the CFS thermostat rule), rulestate, checkpoints`,
    `  Dataverse emulator  ${s.dataverse.url}`,
    '',
    `Settings: ${stack.configFile}; secrets: ${stack.envFile}. In another terminal:`,
    `  set -a; . ${stack.envFile}; set +a`,
    '  npm run fieldlink -- up --profile azure',
    '',
    'Ctrl-C stops the stack (everything it holds is in memory).',
    '',
  ].join('\n'),
);
const stop = async (): Promise<void> => {
  await stack.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
