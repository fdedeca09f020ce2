import { err, ok, validateCommand, type DeviceTypeDefinition, type ParameterSpec, type Result, type ValidationIssue } from '@fieldlink/domain';

/** One input of the command form: a leaf parameter of the command, addressed by its dotted path. */
export interface CommandFormField {
  /** `Reading.Temperature`: where the value goes in `Parameters`. */
  readonly key: string;
  readonly label: string;
  readonly kind: 'number' | 'text' | 'boolean';
  readonly required: boolean;
  readonly hint?: string;
}

export interface CommandForm {
  readonly name: string;
  readonly parameters: readonly CommandFormField[];
}

/** The command forms of each device type, from the domain's command specs. */
export function commandFormsOf(deviceTypes: readonly DeviceTypeDefinition[]): Map<string, CommandForm[]> {
  return new Map(deviceTypes.map((t) => [t.name, t.commands.map((c) => ({ name: c.name, parameters: fieldsOf(c.parameters, c.optional ?? [], []) }))]));
}

function fieldsOf(specs: Readonly<Record<string, ParameterSpec>>, optional: readonly string[], path: readonly string[]): CommandFormField[] {
  return Object.entries(specs).flatMap(([name, spec]): CommandFormField[] => {
    const key = [...path, name];
    if (spec.type === 'object') return fieldsOf(spec.fields, spec.optional ?? [], key);
    const range = 'min' in spec || 'max' in spec ? rangeHint(spec as { min?: number; max?: number }) : undefined;
    const kind = spec.type === 'string' ? 'text' : spec.type === 'boolean' ? 'boolean' : 'number';
    const hint = kind === 'number' ? `a number${range ?? ''}` : kind === 'boolean' ? 'true or false' : undefined;
    return [{ key: key.join('.'), label: name, kind, required: !optional.includes(name), ...(hint === undefined ? {} : { hint }) }];
  });
}

const rangeHint = ({ min, max }: { min?: number; max?: number }): string | undefined =>
  min !== undefined && max !== undefined
    ? ` from ${min} to ${max}`
    : min !== undefined
      ? ` of at least ${min}`
      : max !== undefined
        ? ` of at most ${max}`
        : undefined;

export interface CommandFormInput {
  readonly commandName: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/**
 * Reads the posted command form `{ commandName, parameters: { "Reading.Temperature": "30" } }`
 * into a CFS command and checks it with the domain's validation for the device type. Empty
 * fields are left out, so a required one is reported as required, never sent empty.
 */
export function readCommandForm(
  body: Readonly<Record<string, unknown>>,
  deviceType: DeviceTypeDefinition | undefined,
  deviceTypeName: string,
): Result<CommandFormInput, ValidationIssue[]> {
  const name = typeof body['commandName'] === 'string' ? body['commandName'].trim() : '';
  if (name === '') return err([{ path: 'commandName', message: 'required: choose a command' }]);
  if (deviceType === undefined) return err([{ path: 'commandName', message: `the device type "${deviceTypeName}" has no known commands` }]);
  const fields = body['parameters'] ?? {};
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
    return err([{ path: 'parameters', message: 'expected an object of field values' }]);
  const spec = deviceType.commands.find((c) => c.name === name);
  const parameters = spec === undefined ? {} : build(spec.parameters, fields as Record<string, unknown>, []);
  const checked = validateCommand(deviceType, { CommandName: name, Parameters: parameters });
  if (!checked.ok) return err(checked.error);
  return ok({ commandName: name, parameters: checked.value.Parameters });
}

function build(specs: Readonly<Record<string, ParameterSpec>>, fields: Readonly<Record<string, unknown>>, path: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const key = [...path, name];
    if (spec.type === 'object') {
      out[name] = build(spec.fields, fields, key);
      continue;
    }
    const raw = fields[key.join('.')];
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) continue;
    out[name] = valueFor(spec, raw);
  }
  return out;
}

/** Form fields arrive as text; each becomes what the spec holds, or stays text for the validation to name. */
function valueFor(spec: ParameterSpec, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  switch (spec.type) {
    case 'number':
      return text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'numericString':
      return text;
    default:
      return raw;
  }
}
