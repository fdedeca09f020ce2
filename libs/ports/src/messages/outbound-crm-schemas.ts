import { issue, type ValidationIssue } from '@fieldlink/domain';
import { z } from 'zod';
import { toValidationIssues } from '../codec/zod-issues.js';
import { isJsonObject, type JsonObject } from '../codec/json-merge-patch.js';
import { formatDataverseDate, type DataverseEntity, type DataverseEntityReference, type RemoteExecutionContext } from './remote-execution-context.js';

/*
 * The zod schemas of the parts of a decoded RemoteExecutionContext the outbound readers take
 * (outbound-crm-message.ts): the Target entity, its text, reference, Boolean and JSON columns,
 * and the actions' comma-separated parameters. Each reports its failure as one issue at the
 * field, in the words a customizer reads in the dead-letter reason.
 */

const dateTimeSchema = z.object({ kind: z.literal('DateTime'), epochMs: z.number() });
export const entityReferenceSchema = z.object({ kind: z.literal('EntityReference'), logicalName: z.string(), id: z.string() });
export const entitySchema = z.object({ kind: z.literal('Entity'), logicalName: z.string(), id: z.string(), attributes: z.record(z.string(), z.unknown()) });

/** The schema, with any failure inside it reported as one issue at the field with `message`; absent or null is undefined. */
const column = <T>(schema: z.ZodType<T>, message: string) =>
  z.unknown().transform((value, ctx): T | undefined => {
    if (value === undefined || value === null) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });

/** A text column. Text that happens to read as a WCF date was turned into one by the decoder: it is text here. */
export const textColumn = column(z.union([z.string(), dateTimeSchema.transform((d) => formatDataverseDate(d.epochMs))]), 'expected text');
/** A lookup column: the id it refers to. */
export const referenceColumn = column(
  entityReferenceSchema.transform((r) => r.id),
  'expected an EntityReference',
);
export const booleanColumn = column(z.boolean(), 'expected true or false');

/** A JSON column holding an object (`msdyn_tags`, `msdyn_devicesettings`): empty or null is `{}`. */
export const jsonObjectColumn = z.unknown().transform((value, ctx): JsonObject | undefined => {
  if (value === null || value === '') return {};
  if (typeof value !== 'string') {
    ctx.addIssue({ code: 'custom', message: 'expected JSON text' });
    return z.NEVER;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `is not JSON (${(e as Error).message})` });
    return z.NEVER;
  }
  if (isJsonObject(parsed)) return parsed;
  ctx.addIssue({ code: 'custom', message: 'expected a JSON object' });
  return z.NEVER;
});

/** An input parameter of an action holding a comma-separated list; `required` names it when absent. */
export const listParameter = (required: boolean) =>
  z.unknown().transform((value, ctx): string | undefined => {
    if (value === undefined || value === null) {
      if (required) ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list' });
      return required ? z.NEVER : undefined;
    }
    if (typeof value === 'string') return value;
    ctx.addIssue({ code: 'custom', message: 'expected text' });
    return z.NEVER;
  });

/** Parses `value` with `schema`; its issues, under `path`, go to `issues`. */
export function readWith<T>(schema: z.ZodType<T>, value: unknown, path: ReadonlyArray<string | number>, issues: ValidationIssue[]): T | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  issues.push(...toValidationIssues(parsed.error, path));
  return undefined;
}

export const isEntity = (v: unknown): v is DataverseEntity => entitySchema.safeParse(v).success;
export const isReference = (v: unknown): v is DataverseEntityReference => entityReferenceSchema.safeParse(v).success;
export const isDateTime = (v: unknown): v is z.infer<typeof dateTimeSchema> => dateTimeSchema.safeParse(v).success;

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** The message (and entity) names a reader expects, compared case-insensitively as the CFS Logic App does. */
export function expectMessage(ctx: RemoteExecutionContext, messageName: string, entityName: string | undefined, issues: ValidationIssue[]): void {
  if (!same(ctx.messageName, messageName)) issues.push(issue(['MessageName'], `expected "${messageName}", got "${ctx.messageName}"`));
  if (entityName !== undefined && !same(ctx.primaryEntityName, entityName))
    issues.push(issue(['PrimaryEntityName'], `expected "${entityName}", got "${ctx.primaryEntityName}"`));
}

/** The input parameters' Target, which must be an entity of `logicalName` (an entity of another name is named, and read on). */
export function targetEntity(ctx: RemoteExecutionContext, logicalName: string, issues: ValidationIssue[]): DataverseEntity | undefined {
  const path = ['InputParameters', 'Target'];
  const t = readWith(column(entitySchema, `expected the ${logicalName} entity`), ctx.inputParameters['Target'] ?? {}, path, issues) as
    DataverseEntity | undefined;
  if (t !== undefined)
    readWith(z.literal(logicalName, { error: (i) => `expected "${logicalName}", got "${String(i.input)}"` }), t.logicalName, [...path, 'LogicalName'], issues);
  return t;
}

/** The column `name` of `entity`, read with its schema; issues go under `<path>.Attributes.<name>`. */
export const columnOf = <T>(
  entity: DataverseEntity,
  name: string,
  schema: z.ZodType<T>,
  path: ReadonlyArray<string | number>,
  issues: ValidationIssue[],
): T | undefined => readWith(schema, entity.attributes[name], [...path, 'Attributes', name], issues);
