import type { PortTemplate } from './template.js';

/** `RejectedTelemetryPort` over an append-only log client: each reject one JSON record. */
export const rejectedTelemetryTemplate: PortTemplate = {
  portInterface: 'RejectedTelemetryPort',
  suite: 'rejectedTelemetryConformance',
  fileSuffix: 'rejected-telemetry',
  classSuffix: 'RejectedTelemetry',
  testClient: 'an array',
  summary: 'telemetry that cannot be used, kept with its reason (`RejectedTelemetryPort`)',
  source: (n) => `import type { RejectedTelemetry, RejectedTelemetryPort } from '@fieldlink/ports';

/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. An
 * append-only log of text records.
 */
export interface ${n.className}Client {
  append(record: string): Promise<void>;
  /** The last \`count\` records, oldest first. */
  last(count: number): Promise<string[]>;
}

/** One reject as stored: the body's raw bytes in base64, so bytes that are not UTF-8 survive. */
interface StoredReject {
  readonly envelope: Omit<RejectedTelemetry['envelope'], 'body'> & { readonly body: string };
  readonly reason: string;
  readonly description: string;
}

/** Rejected telemetry on ${n.file}: each reject one JSON record of the log. */
export class ${n.className}RejectedTelemetry implements RejectedTelemetryPort {
  constructor(private readonly client: ${n.className}Client) {}

  async reject(rejected: RejectedTelemetry): Promise<void> {
    const stored: StoredReject = { ...rejected, envelope: { ...rejected.envelope, body: Buffer.from(rejected.envelope.body).toString('base64') } };
    await this.client.append(JSON.stringify(stored));
  }

  /** The most recent \`maxItems\`, oldest first. */
  async list(maxItems: number): Promise<RejectedTelemetry[]> {
    return (await this.client.last(maxItems)).map((record) => {
      const stored = JSON.parse(record) as StoredReject;
      return { ...stored, envelope: { ...stored.envelope, body: new Uint8Array(Buffer.from(stored.envelope.body, 'base64')) } };
    });
  }
}
`,
  test: (n) => `import { rejectedTelemetryConformance } from '@fieldlink/ports/testing';
import { ${n.className}RejectedTelemetry, type ${n.className}Client } from './${n.file}-rejected-telemetry.js';

/** The client kept in an array. */
const arrayClient = (records: string[]): ${n.className}Client => ({
  append: async (record) => {
    records.push(record);
  },
  last: async (count) => records.slice(Math.max(0, records.length - count)),
});

rejectedTelemetryConformance('${n.className}RejectedTelemetry', async () => ({
  rejected: new ${n.className}RejectedTelemetry(arrayClient([])),
  dispose: async () => undefined,
}));
`,
};
