import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { publishReferenceData, ServiceBusQueue } from '@fieldlink/adapter-azure';
import { startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';
import type { CfsThresholdRule } from '@fieldlink/domain';
import type { LogPort } from '@fieldlink/ports';
import {
  EventHubsStandin,
  generateLoopbackCertificate,
  IotHubStandin,
  ServiceBusStandin,
  startAzurite,
  type LoopbackCertificate,
  type RunningAzurite,
  type StandinQueueSettings,
} from '@fieldlink/azure-standins';

/** The CFS thermostat rule (devicerules.json of a CFS deployment): Temperature over 70 raises AlarmTemp. */
export const CFS_THERMOSTAT_RULE: CfsThresholdRule = { deviceType: 'Thermostat', readingType: 'Temperature', threshold: 70, ruleOutput: 'AlarmTemp' };

export interface LocalAzureStackOptions {
  /** Where the CA certificate, the configuration file and the environment file are written. */
  readonly dir: string;
  readonly hubName?: string;
  readonly partitionCount?: number;
  /** Consumer groups on the hub's Event Hubs-compatible endpoint: the stream processor's (`eventHubs.consumerGroup`) and the orchestrator's device replies. */
  readonly consumerGroups?: readonly string[];
  /** The consumer group the configuration names for the stream processor. */
  readonly streamProcessorConsumerGroup?: string;
  /** The consumer group the configuration names for the orchestrator's reading of device replies. */
  readonly repliesConsumerGroup?: string;
  readonly alertsQueue?: string;
  readonly outboundQueue?: string;
  readonly queueSettings?: Partial<StandinQueueSettings>;
  /** IoT Hub cloud-to-device: lock of a delivered message, and deliveries before it is dead-lettered. */
  readonly hub?: { readonly lockTimeoutMs?: number; readonly maxDeliveryCount?: number };
  readonly rules?: readonly CfsThresholdRule[];
  /** Dataverse service protection: at most this many requests per window, then 429 with Retry-After. */
  readonly dataverseLimits?: { readonly maxRequests: number; readonly windowMs: number };
  readonly log?: LogPort;
}

/** The Fieldlink settings of the stack: the configuration document (no secrets) and the secrets, as environment variables. */
export interface StackSettings {
  readonly config: Record<string, unknown>;
  readonly env: Record<string, string>;
}

export interface RunningLocalAzureStack {
  readonly certificate: LoopbackCertificate;
  readonly caFile: string;
  readonly configFile: string;
  readonly envFile: string;
  readonly settings: StackSettings;
  readonly serviceBus: ServiceBusStandin;
  readonly eventHubs: EventHubsStandin;
  readonly iotHub: IotHubStandin;
  readonly azurite: RunningAzurite;
  readonly dataverse: RunningDataverseEmulator;
  readonly hubName: string;
  stop(): Promise<void>;
}

/**
 * The Azure services of `fieldlink up --profile azure` on loopback, for people and for the system
 * test: the IoT hub stand-in (registry REST, AMQPS, MQTTS, on one TLS port with a CA made now),
 * its Event Hubs-compatible endpoint (the Event Hubs stand-in) with the consumer groups, the
 * Service Bus stand-in with the alerts and outbound queues, Azurite with the reference data
 * (the CFS thermostat rule), and the Dataverse emulator whose service endpoint posts to the
 * outbound queue, as a CFS organisation's does. Writes `ca.pem`, `fieldlink.azure.json` and
 * `stack.env` into `dir`.
 */
export async function startLocalAzureStack(options: LocalAzureStackOptions): Promise<RunningLocalAzureStack> {
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const hubName = options.hubName ?? 'fieldlink-hub';
  const streamGroup = options.streamProcessorConsumerGroup ?? 'rulescg';
  const repliesGroup = options.repliesConsumerGroup ?? 'repliescg';
  const consumerGroups = [...new Set([streamGroup, repliesGroup, ...(options.consumerGroups ?? [])])];
  const alertsQueue = options.alertsQueue ?? 'fieldlink-iot';
  const outboundQueue = options.outboundQueue ?? 'fieldlink-crm';
  const started: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
  };
  try {
    const certificate = await generateLoopbackCertificate();
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, certificate.cert);

    const serviceBus = await new ServiceBusStandin().start();
    started.push(() => serviceBus.stop());
    // CFS: duplicate detection on, max delivery count 10, lock 1 min (the README's Azure resources table).
    const queueSettings = { lockDurationMs: 60_000, maxDeliveryCount: 10, duplicateDetectionWindowMs: 10 * 60_000, ...options.queueSettings };
    serviceBus.createQueue(alertsQueue, queueSettings);
    serviceBus.createQueue(outboundQueue, queueSettings);

    const eventHubs = await new EventHubsStandin().start();
    started.push(() => eventHubs.stop());
    eventHubs.createHub(hubName, { partitionCount: options.partitionCount ?? 4, consumerGroups });

    const azurite = await startAzurite();
    started.push(() => azurite.stop());
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const containers = { referenceData: 'devicerules', ruleState: 'rulestate', checkpoints: 'checkpoints' };
    for (const name of Object.values(containers)) await blobs.getContainerClient(name).createIfNotExists();
    // Valid from a minute ago (UTC), so it is in force at once.
    await publishReferenceData(blobs.getContainerClient(containers.referenceData), {
      validFrom: Date.now() - 60_000,
      rules: options.rules ?? [CFS_THERMOSTAT_RULE],
    });

    const iotHub = await new IotHubStandin(certificate, {
      ...(options.hub?.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.hub.lockTimeoutMs }),
      ...(options.hub?.maxDeliveryCount === undefined ? {} : { maxDeliveryCount: options.hub.maxDeliveryCount }),
      telemetry: (deviceId, body, properties) => void eventHubs.appendFromDevice(hubName, deviceId, body, properties),
    }).start();
    started.push(() => iotHub.stop());

    // The organisation's service endpoint posts commands and registrations to the outbound queue.
    // Retried as Fieldlink's own queues are (serviceBus.operationTimeoutMs, retryDelayMs): with the SDK's defaults a post caught by a dropped connection holds its Web API request 90 s.
    const outbound = new ServiceBusQueue({
      auth: { connectionString: serviceBus.connectionString },
      queueName: outboundQueue,
      retry: { timeoutInMs: 10_000, retryDelayInMs: 1_000 },
    });
    started.push(() => outbound.close());
    const accessToken = randomBytes(24).toString('base64url');
    const dataverse = await startDataverseEmulator({
      outboundQueue: outbound,
      accessToken,
      ...(options.dataverseLimits === undefined ? {} : { serviceProtection: options.dataverseLimits }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    started.push(() => dataverse.close());

    const config = {
      profile: 'azure',
      serviceBus: { alertsQueue, outboundQueue },
      eventHubs: { consumerGroup: streamGroup, repliesConsumerGroup: repliesGroup, checkpointContainer: containers.checkpoints },
      iotHub: { hostName: iotHub.hostName },
      blob: { referenceDataContainer: containers.referenceData, ruleStateContainer: containers.ruleState },
      tls: { caFile },
      dataverse: { url: dataverse.url },
    };
    const env = {
      FIELDLINK_SERVICE_BUS_CONNECTION_STRING: serviceBus.connectionString,
      FIELDLINK_EVENT_HUBS_CONNECTION_STRING: eventHubs.connectionString(hubName),
      FIELDLINK_IOT_HUB_CONNECTION_STRING: iotHub.serviceConnectionString,
      FIELDLINK_BLOB_CONNECTION_STRING: azurite.connectionString,
      FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN: accessToken,
    };
    const configFile = join(dir, 'fieldlink.azure.json');
    const envFile = join(dir, 'stack.env');
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    await writeFile(
      envFile,
      `${Object.entries({ ...env, FIELDLINK_CONFIG: configFile })
        .map(([k, v]) => `${k}='${v}'`)
        .join('\n')}\n`,
      { mode: 0o600 },
    );

    return { certificate, caFile, configFile, envFile, settings: { config, env }, serviceBus, eventHubs, iotHub, azurite, dataverse, hubName, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
