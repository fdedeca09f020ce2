import { MERGE_PATCH_SOURCE, SDK_CLIENT, type Names, type PortTemplate } from './template.js';

/**
 * The registry's client interface, under \`name\`: one JSON twin per device id. \`headline\` says
 * what the interface is to its reader.
 */
export const twinsClientInterface = (name: string, headline: string): string => `/**
 * ${headline}
 * One JSON document (the device's twin) per device id.
 */
export interface ${name} {
  /** The twin's text, or \`undefined\` for a device never written. */
  get(deviceId: string): Promise<string | undefined>;
  put(deviceId: string, text: string): Promise<void>;
  /** Every twin's text, in no particular order. */
  list(): Promise<string[]>;
}`;

/**
 * \`DeviceRegistryPort\` over that interface, named \`client\`; with \`mergePatch\`
 * (\`MERGE_PATCH_SOURCE\`), and \`DeviceRegistryError\`, \`DeviceRegistration\`,
 * \`DeviceRegistrationResult\`, \`DeviceRegistryPort\`, \`DeviceTwin\` and \`TwinPatch\` imported.
 */
export const deviceRegistrySource = (n: Names, client: string): string => `/**
 * The device ids IoT Hub accepts: up to 128 characters of ASCII letters, digits and
 * \`- . % _ * ? ! ( ) , : = @ $ '\` (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-identity-registry#device-identity-properties).
 */
const DEVICE_ID = /^[A-Za-z0-9.%_*?!(),:=@$'-]{1,128}$/;

/**
 * The identity registry and twins on ${n.file}. Registering a device that exists enables it and
 * applies its tags and desired properties again; a refused id fails that device alone.
 */
export class ${n.className}DeviceRegistry implements DeviceRegistryPort {
  constructor(private readonly client: ${client}) {}

  async registerDevices(devices: readonly DeviceRegistration[]): Promise<DeviceRegistrationResult[]> {
    const results: DeviceRegistrationResult[] = [];
    for (const device of devices) {
      if (!DEVICE_ID.test(device.deviceId)) {
        results.push({ deviceId: device.deviceId, ok: false, error: { code: 'InvalidDeviceId', message: \`'\${device.deviceId}' is not 1 to 128 letters, digits or - . % _ * ? ! ( ) , : = @ $ '\` } });
        continue;
      }
      const existing = await this.getTwin(device.deviceId);
      const base: DeviceTwin = existing ?? { deviceId: device.deviceId, status: 'enabled', connectionState: 'Disconnected', tags: {}, desired: {}, reported: {}, version: 0 };
      await this.write({
        ...base,
        status: 'enabled',
        tags: mergePatch(base.tags, device.tags ?? {}),
        desired: mergePatch(base.desired, device.desiredProperties ?? {}),
        version: base.version + 1,
      });
      results.push({ deviceId: device.deviceId, ok: true, existed: existing !== undefined });
    }
    return results;
  }

  async updateTwin(deviceId: string, patch: TwinPatch): Promise<DeviceTwin> {
    const twin = await this.getTwin(deviceId);
    if (twin === undefined) throw new DeviceRegistryError('DeviceNotFound', \`No device '\${deviceId}' in the registry.\`);
    const updated: DeviceTwin = { ...twin, tags: mergePatch(twin.tags, patch.tags ?? {}), desired: mergePatch(twin.desired, patch.desiredProperties ?? {}), version: twin.version + 1 };
    await this.write(updated);
    return updated;
  }

  async getTwin(deviceId: string): Promise<DeviceTwin | undefined> {
    const text = await this.client.get(deviceId);
    return text === undefined ? undefined : (JSON.parse(text) as DeviceTwin);
  }

  async getTwins(deviceIds: readonly string[]): Promise<DeviceTwin[]> {
    const twins: DeviceTwin[] = [];
    for (const deviceId of deviceIds) {
      const twin = await this.getTwin(deviceId);
      if (twin !== undefined) twins.push(twin);
    }
    return twins;
  }

  async connectedDeviceIds(): Promise<string[]> {
    const twins = (await this.client.list()).map((text) => JSON.parse(text) as DeviceTwin);
    return twins.filter((t) => t.status === 'enabled' && t.connectionState === 'Connected').map((t) => t.deviceId);
  }

  private async write(twin: DeviceTwin): Promise<void> {
    await this.client.put(twin.deviceId, JSON.stringify(twin));
  }
}`;

/** `DeviceRegistryPort` over a document client: one JSON twin per device id. */
export const deviceRegistryTemplate: PortTemplate = {
  portInterface: 'DeviceRegistryPort',
  suite: 'deviceRegistryConformance',
  fileSuffix: 'device-registry',
  classSuffix: 'DeviceRegistry',
  testClient: 'a Map',
  summary: 'device identities and twins, registered idempotently (`DeviceRegistryPort`)',
  source: (
    n,
  ) => `import { DeviceRegistryError, type DeviceRegistration, type DeviceRegistrationResult, type DeviceRegistryPort, type DeviceTwin, type TwinPatch } from '@fieldlink/ports';

${twinsClientInterface(`${n.className}Client`, SDK_CLIENT)}

${MERGE_PATCH_SOURCE}

${deviceRegistrySource(n, `${n.className}Client`)}
`,
  test: (n) => `import { deviceRegistryConformance } from '@fieldlink/ports/testing';
import { ${n.className}DeviceRegistry, type ${n.className}Client } from './${n.file}-device-registry.js';

/** The client kept in a Map. */
const mapClient = (): ${n.className}Client => {
  const twins = new Map<string, string>();
  return {
    get: async (deviceId) => twins.get(deviceId),
    put: async (deviceId, text) => {
      twins.set(deviceId, text);
    },
    list: async () => [...twins.values()],
  };
};

deviceRegistryConformance('${n.className}DeviceRegistry', async () => ({
  registry: new ${n.className}DeviceRegistry(mapClient()),
  dispose: async () => undefined,
}));
`,
};
