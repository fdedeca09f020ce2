import { names, type Tree } from '@nx/devkit';
import { parseDeviceTypesDocument } from '@fieldlink/composition';
import { parse } from 'yaml';

/*
 * `nx g @fieldlink/workspace:device-type <Name> --reading ... --threshold ... --ruleOutput ...
 * --command ...`: a device type document (the format `deviceTypes.file` reads) with one reading
 * and its range, the CFS threshold rule on it, a command taking the reading as a ranged numeric
 * parameter, and the Notification command every CFS device takes. The document is checked with
 * the reader the services use before it is written, so a wrong option never leaves a file.
 */

export interface DeviceTypeGeneratorOptions {
  readonly name: string;
  readonly reading: string;
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly threshold: number;
  readonly ruleOutput: string;
  readonly command: string;
  readonly directory?: string;
}

/** The document's text (YAML, commented) for these options. */
export function deviceTypeDocument(o: DeviceTypeGeneratorOptions): string {
  const min = o.min ?? 0;
  const max = o.max ?? 100;
  const q = (text: string): string => JSON.stringify(text);
  return `# The ${o.name} device type: point deviceTypes.file (FIELDLINK_DEVICE_TYPES_FILE) at this file.
# Every numeric command parameter carries its range; a reading over the threshold raises an alert.
deviceTypes:
  - name: ${q(o.name)}
    readings:
      - name: ${q(o.reading)}
${o.unit === undefined ? '' : `        unit: ${q(o.unit)}\n`}        min: ${min}
        max: ${max}
        # How a simulated device behaves: it holds the middle of the range; a failing one climbs.
        simulation: { normal: ${(min + max) / 2}, driftPerMinute: ${max - min} }
    rules:
      # As a devicerules.json row would say it: ${o.reading} over ${o.threshold} raises ${o.ruleOutput}.
      - { reading: ${q(o.reading)}, threshold: ${o.threshold}, ruleOutput: ${q(o.ruleOutput)} }
    commands:
      - name: ${q(o.command)}
        parameters:
          ${q(o.reading)}: { type: numericString, min: ${min}, max: ${max} }
      - name: Notification
        parameters:
          Message: { type: string, maxLength: 4096 }
`;
}

export async function deviceTypeGenerator(tree: Tree, options: DeviceTypeGeneratorOptions): Promise<void> {
  const text = deviceTypeDocument(options);
  const checked = parseDeviceTypesDocument(parse(text));
  if (!checked.ok) throw new Error(`device-type: the document would be refused: ${checked.error.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const [type] = checked.value;
  const threshold = type?.readings[0];
  if (threshold !== undefined && (options.threshold < threshold.min || options.threshold > threshold.max)) {
    throw new Error(`device-type: threshold ${options.threshold} is outside the reading's range ${threshold.min}..${threshold.max}`);
  }
  const path = `${options.directory ?? 'device-types'}/${names(options.name).fileName}.device-type.yaml`;
  if (tree.exists(path)) throw new Error(`device-type: ${path} exists already`);
  tree.write(path, text);
}

export default deviceTypeGenerator;
