import { EventHubConsumerClient } from '@azure/event-hubs';
import { ServiceBusClient } from '@azure/service-bus';
import { ConsumerGroupNotFoundError, consumerGroupExists } from './event-hubs-telemetry-intake.js';
import { blobService, type BlobAuth } from './blob-auth.js';
import { IotHubRegistry } from './iot-hub-registry.js';
import { redact, secretsOf } from './azure-auth.js';

/**
 * One look at an Azure service as a configuration names it, for `fieldlink doctor`: reachable,
 * the credentials accepted, the named entity there. Each probe answers with what is wrong, one
 * line per problem, keys taken out; an empty list is all well. Nothing is sent or changed.
 */
export type ProbeProblems = string[];

const reasonOf = (error: unknown, secrets: readonly string[]): string => {
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  return redact(typeof code === 'string' && code !== '' && !message.includes(code) ? `${message} (${code})` : message, secrets);
};

/** Service Bus: opens a sender on each queue (attach only, nothing sent): a missing queue or a key without Send right is named. */
export async function probeServiceBusQueues(connectionString: string, queues: readonly string[], timeoutMs = 20_000): Promise<ProbeProblems> {
  const secrets = secretsOf(connectionString);
  const client = new ServiceBusClient(connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: timeoutMs } });
  const problems: ProbeProblems = [];
  try {
    for (const queue of new Set(queues)) {
      const sender = client.createSender(queue);
      try {
        await sender.createMessageBatch();
      } catch (error) {
        problems.push(`queue '${queue}': ${reasonOf(error, secrets)}`);
      } finally {
        await sender.close().catch(() => undefined);
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  return problems;
}

/** Event Hubs: reads the hub's partitions (reachable, authorised), then opens a receiver in each consumer group. */
export async function probeEventHub(connectionString: string, consumerGroups: readonly string[], timeoutMs = 20_000): Promise<ProbeProblems> {
  const secrets = secretsOf(connectionString);
  const client = new EventHubConsumerClient('$Default', connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: timeoutMs } });
  let partitionIds: string[];
  try {
    partitionIds = await client.getPartitionIds();
  } catch (error) {
    await client.close().catch(() => undefined);
    return [`event hub: ${reasonOf(error, secrets)}`];
  }
  await client.close().catch(() => undefined);
  const problems: ProbeProblems = [];
  for (const group of new Set(consumerGroups)) {
    const groupClient = new EventHubConsumerClient(group, connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: timeoutMs } });
    try {
      await Promise.race([
        consumerGroupExists(groupClient, group, partitionIds[0]),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
    } catch (error) {
      problems.push(error instanceof ConsumerGroupNotFoundError ? error.message : `consumer group '${group}': ${reasonOf(error, secrets)}`);
    } finally {
      await groupClient.close().catch(() => undefined);
    }
  }
  return problems;
}

/** Blob storage: each container exists (read access to the account is enough). */
export async function probeBlobContainers(auth: BlobAuth, containers: readonly string[]): Promise<ProbeProblems> {
  const secrets = 'connectionString' in auth ? secretsOf(auth.connectionString) : [];
  const service = blobService(auth);
  const problems: ProbeProblems = [];
  for (const name of new Set(containers)) {
    try {
      if (!(await service.getContainerClient(name).exists())) problems.push(`container '${name}' does not exist`);
    } catch (error) {
      problems.push(`container '${name}': ${reasonOf(error, secrets)}`);
    }
  }
  return problems;
}

/** IoT Hub: reads one twin from the registry (a device that need not exist): reachable, and the policy may read the registry. */
export async function probeIotHub(connectionString: string): Promise<ProbeProblems> {
  const secrets = secretsOf(connectionString);
  try {
    await new IotHubRegistry({ auth: { connectionString } }).getTwin('fieldlink-doctor-probe');
    return [];
  } catch (error) {
    return [`registry: ${reasonOf(error, secrets)}`];
  }
}
