import type { PortTemplate } from './template.js';

/** `ReferenceDataPort` over a blob client: dated rule snapshots and a device metadata document. */
export const referenceDataTemplate: PortTemplate = {
  portInterface: 'ReferenceDataPort',
  suite: 'referenceDataConformance',
  fileSuffix: 'reference-data',
  classSuffix: 'ReferenceData',
  testClient: 'a Map of blobs',
  summary: 'the device rules in force and the device types stream processing joins with (`ReferenceDataPort`)',
  source: (n) => `import type { CfsThresholdRule } from '@fieldlink/domain';
import type { ReferenceDataPort } from '@fieldlink/ports';

/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. Blobs of
 * text under names, listed by name prefix.
 */
export interface ${n.className}Client {
  /** The names of the blobs starting with \`prefix\`, in no particular order. */
  listNames(prefix: string): Promise<string[]>;
  /** The blob's text, or \`undefined\` when there is none. */
  read(name: string): Promise<string | undefined>;
}

/** Where the blobs are: \`devicerules/{yyyy-MM-dd}/{HH-mm}/devicerules.json\` as CFS publishes them, and one device metadata document. */
export const DEVICE_RULES_PREFIX = 'devicerules/';
export const DEVICE_METADATA = 'devicemetadata/devices.json';

/** The UTC minute a snapshot path names, in epoch ms; \`undefined\` for a name of another shape. */
const validFromOf = (name: string): number | undefined => {
  const m = /^devicerules\\/(\\d{4})-(\\d{2})-(\\d{2})\\/(\\d{2})-(\\d{2})\\/devicerules\\.json$/.exec(name);
  return m === null ? undefined : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
};

/**
 * Reference data on ${n.file}: the rules in force at a time are the newest snapshot whose minute
 * has come; device types come from one JSON document mapping device id to device type.
 */
export class ${n.className}ReferenceData implements ReferenceDataPort {
  constructor(private readonly client: ${n.className}Client) {}

  async deviceRules(at: number): Promise<readonly CfsThresholdRule[]> {
    const dated = (await this.client.listNames(DEVICE_RULES_PREFIX)).flatMap((name) => {
      const validFrom = validFromOf(name);
      return validFrom === undefined || validFrom > at ? [] : [{ name, validFrom }];
    });
    const newest = dated.sort((a, b) => b.validFrom - a.validFrom)[0];
    if (newest === undefined) return [];
    const text = await this.client.read(newest.name);
    return text === undefined ? [] : (JSON.parse(text) as CfsThresholdRule[]);
  }

  async deviceTypeOf(deviceId: string): Promise<string | undefined> {
    const text = await this.client.read(DEVICE_METADATA);
    if (text === undefined) return undefined;
    const types = JSON.parse(text) as Record<string, string>;
    return Object.hasOwn(types, deviceId) ? types[deviceId] : undefined;
  }
}
`,
  test: (n) => `import { referenceDataConformance } from '@fieldlink/ports/testing';
import { DEVICE_METADATA, ${n.className}ReferenceData, type ${n.className}Client } from './${n.file}-reference-data.js';

/** The client kept in a Map of blobs. */
const mapClient = (blobs: Map<string, string>): ${n.className}Client => ({
  listNames: async (prefix) => [...blobs.keys()].filter((name) => name.startsWith(prefix)),
  read: async (name) => blobs.get(name),
});

/** The path CFS writes a snapshot valid from \`validFrom\` (a UTC minute) to. */
const snapshotPath = (validFrom: number): string => {
  const iso = new Date(validFrom).toISOString();
  return \`devicerules/\${iso.slice(0, 10)}/\${iso.slice(11, 13)}-\${iso.slice(14, 16)}/devicerules.json\`;
};

referenceDataConformance('${n.className}ReferenceData', async (seed) => {
  const blobs = new Map<string, string>();
  for (const { validFrom, rules } of seed.snapshots) blobs.set(snapshotPath(validFrom), JSON.stringify(rules));
  blobs.set(DEVICE_METADATA, JSON.stringify(seed.deviceTypes));
  return { referenceData: new ${n.className}ReferenceData(mapClient(blobs)), dispose: async () => undefined };
});
`,
};
