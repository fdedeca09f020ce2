import { deviceClientSource, hubSource } from './cloud-to-device.js';
import { deviceRegistrySource, twinsClientInterface } from './device-registry.js';
import { streamClientInterface, telemetryEventSource, telemetryIntakeSource } from './telemetry-intake.js';
import { MERGE_PATCH_SOURCE, tablesClientInterface, tablesMapClient, type PortTemplate } from './template.js';

/**
 * `DeviceClientPort` with the rest of the hub its suite plays: the device side, the registry and
 * the telemetry stream, all over one tables client. The pieces are the cloud-to-device,
 * device-registry and telemetry-intake templates' own: the hub (device rows, telemetry partitions,
 * cloud-to-device queues) and its device side as the cloud-to-device template writes them, and the
 * registry and the stream's reader over views of the same tables (`twinsOf`, `streamOf`).
 */
export const deviceClientTemplate: PortTemplate = {
  portInterface: 'DeviceClientPort',
  suite: 'deviceClientConformance',
  fileSuffix: 'device-client',
  classSuffix: 'DeviceClient',
  testClient: 'a Map of tables',
  summary:
    "devices connect as registered devices, send telemetry, report properties and receive cloud-to-device messages (`DeviceClientPort`); with the same hub's registry (`DeviceRegistryPort`) and telemetry stream (`TelemetryIntakePort`), where the suite checks what the devices did. `hubOver` makes the three over one client",
  source: (n) => `import { randomUUID } from 'node:crypto';
import type { DeliveryFeedbackStatus } from '@fieldlink/domain';
import {
  DeviceConnectionError,
  DeviceRegistryError,
  partitionsToRead,
  type ClockPort,
  type DeliveryFeedback,
  type DeviceClientPort,
  type DeviceConnection,
  type DeviceMessageOutcome,
  type DeviceRegistration,
  type DeviceRegistrationResult,
  type DeviceRegistryPort,
  type DeviceTwin,
  type ReceivedCloudToDeviceMessage,
  type TelemetryBatchHandler,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
  type TelemetryPartitionContext,
  type TelemetrySubscribeOptions,
  type TelemetrySubscription,
  type TwinPatch,
} from '@fieldlink/ports';

${tablesClientInterface(n)}

${hubSource(n)}

${deviceClientSource(n)}

${twinsClientInterface(`${n.className}Twins`, "The registry's view of the hub's tables (`twinsOf`).")}

${deviceRegistrySource(n, `${n.className}Twins`)}

${telemetryEventSource(n)}

${streamClientInterface(n, `${n.className}Stream`, "The telemetry reader's view of the hub's tables (`streamOf`).")}

${telemetryIntakeSource(n, `${n.className}Stream`)}

/** The twins the registry reads and writes: the hub's device rows, which the device side updates too. */
export function twinsOf(client: ${n.className}Client): ${n.className}Twins {
  return {
    get: (deviceId) => client.get(DEVICES, deviceId),
    put: (deviceId, text) => client.put(DEVICES, deviceId, text),
    list: async () => (await client.list(DEVICES)).map(([, text]) => text),
  };
}

/** Checkpoints, under the consumer group and the partition. */
const CHECKPOINTS = 'checkpoints';
const checkpointKey = (consumerGroup: string, partitionId: string): string => \`\${consumerGroup}/\${partitionId}\`;

/** The stream the telemetry reader reads: the partitions the devices append to, and its checkpoints. */
export function streamOf(client: ${n.className}Client): ${n.className}Stream {
  return {
    partitionIds: async () => Array.from({ length: PARTITIONS }, (_, i) => String(i)),
    read: async (partitionId, after, max) => {
      const through = Math.min(await lastTelemetrySequence(client, partitionId), after + max);
      const events: ${n.className}Event[] = [];
      for (let sequenceNumber = after + 1; sequenceNumber <= through; sequenceNumber++) {
        const text = await client.get(telemetryTable(partitionId), keyOf(sequenceNumber));
        if (text === undefined) continue;
        const row = JSON.parse(text) as TelemetryRow;
        events.push({ ...row, body: new Uint8Array(Buffer.from(row.body, 'base64')) });
      }
      return events;
    },
    lastSequenceNumber: (partitionId) => lastTelemetrySequence(client, partitionId),
    readCheckpoint: async (consumerGroup, partitionId) => {
      const text = await client.get(CHECKPOINTS, checkpointKey(consumerGroup, partitionId));
      return text === undefined ? undefined : Number(text);
    },
    writeCheckpoint: (consumerGroup, partitionId, sequenceNumber) => client.put(CHECKPOINTS, checkpointKey(consumerGroup, partitionId), String(sequenceNumber)),
  };
}

/** One hub on ${n.file}, over one client: the devices' side, its registry, and its telemetry stream, where what the devices send arrives. */
export function hubOver(
  client: ${n.className}Client,
  clock: ClockPort,
  settings: ${n.className}HubSettings,
  telemetry: ${n.className}TelemetryIntakeOptions = {},
): { readonly devices: ${n.className}DeviceClient; readonly registry: ${n.className}DeviceRegistry; readonly telemetry: ${n.className}TelemetryIntake } {
  return {
    devices: new ${n.className}DeviceClient(client, clock, settings),
    registry: new ${n.className}DeviceRegistry(twinsOf(client)),
    telemetry: new ${n.className}TelemetryIntake(streamOf(client), telemetry),
  };
}

${MERGE_PATCH_SOURCE}
`,
  test: (n) => `import { deviceClientConformance } from '@fieldlink/ports/testing';
import { hubOver, type ${n.className}Client } from './${n.file}-device-client.js';

${tablesMapClient(n)}

deviceClientConformance('${n.className}DeviceClient', async () => {
  const hub = hubOver(mapClient(), { now: () => Date.now() }, { maxDeliveryCount: 10, lockTimeoutMs: 60_000, pollMs: 5 }, { pollMs: 10, retryMs: 20 });
  return {
    devices: hub.devices,
    registry: hub.registry,
    telemetry: hub.telemetry,
    consumerGroup: '$Default',
    dispose: async () => undefined,
  };
});
`,
};
