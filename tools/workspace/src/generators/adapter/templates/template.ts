/** The names of one generated adapter, derived from its kebab-case name. */
export interface Names {
  /** `redis` */
  readonly file: string;
  /** `Redis` */
  readonly className: string;
  readonly project: string;
  readonly packageName: string;
  readonly root: string;
}

/**
 * What the adapter generator writes for one port: the adapter over a small client interface (the
 * calls of the service's SDK it needs) and a test running the port's conformance suite with that
 * client kept in memory. Each template's adapter passes its suite as generated.
 */
export interface PortTemplate {
  readonly portInterface: string;
  readonly suite: string;
  readonly fileSuffix: string;
  readonly classSuffix: string;
  readonly summary: string;
  /** How the generated test keeps the client, for the README: `a Map`, `an array`. */
  readonly testClient: string;
  readonly source: (n: Names) => string;
  readonly test: (n: Names) => string;
}

/**
 * RFC 7396 JSON merge patch (https://www.rfc-editor.org/rfc/rfc7396), written into the adapters of
 * the templates that keep twins (each generated project stands alone): `Json`, `isObject`, `mergePatch`.
 */
export const MERGE_PATCH_SOURCE = `type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7396 JSON merge patch: objects merge key by key, null removes a key, anything else replaces. */
const mergePatch = (target: Json, patch: Json): Json => {
  const merged: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (isObject(value)) merged[key] = mergePatch(isObject(merged[key]) ? merged[key] : {}, value);
    else merged[key] = value;
  }
  return merged;
};
`;

/** The headline of a client interface the service's SDK is wrapped in, as the templates write it. */
export const SDK_CLIENT = "The calls of the service's client this adapter makes: wrap the SDK's client in it.";

/** The client interface of the templates whose adapter keeps its state in tables of JSON rows. */
export const tablesClientInterface = (n: Names): string => `/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. Tables of
 * JSON text rows under string keys.
 */
export interface ${n.className}Client {
  get(table: string, key: string): Promise<string | undefined>;
  put(table: string, key: string, text: string): Promise<void>;
  delete(table: string, key: string): Promise<void>;
  /** Every row of the table as [key, text], in no particular order. */
  list(table: string): Promise<Array<[string, string]>>;
}`;

/** That client kept in a Map of tables, for the generated test. */
export const tablesMapClient = (n: Names): string => `/** The client kept in a Map of tables. */
const mapClient = (): ${n.className}Client => {
  const tables = new Map<string, Map<string, string>>();
  const table = (name: string): Map<string, string> => tables.get(name) ?? tables.set(name, new Map()).get(name)!;
  return {
    get: async (name, key) => table(name).get(key),
    put: async (name, key, text) => {
      table(name).set(key, text);
    },
    delete: async (name, key) => {
      table(name).delete(key);
    },
    list: async (name) => [...table(name)],
  };
};`;

/**
 * The client interface of the CRM role templates: the CRM's tables as JSON records under ids, each
 * with a version that changes on every write, so a create or a replace can be conditional as
 * Dataverse's are (If-None-Match, If-Match on the row's ETag).
 */
export const recordsClientInterface = (n: Names): string => `/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. The CRM's
 * tables as JSON text records under ids (a table's key, or an alternate key), each with a version
 * that changes on every write: Dataverse's ETag, which makes a create or a replace conditional
 * (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/perform-conditional-operations-using-web-api).
 * A failure of the service rejects with a \`CrmError\` (\`Transient\`, \`Unauthorized\`, \`Rejected\`).
 */
export interface ${n.className}Client {
  /** The record and its version, if there is one under this id. */
  get(table: string, id: string): Promise<{ readonly text: string; readonly version: string } | undefined>;
  /** Creates the record unless one exists under this id (If-None-Match: *): false when one did. */
  create(table: string, id: string, text: string): Promise<boolean>;
  /** Replaces the record while it is still at \`version\` (If-Match): false when it is gone or was written since. */
  replace(table: string, id: string, text: string, version: string): Promise<boolean>;
  /** Creates or replaces the record under this id (an upsert). */
  put(table: string, id: string, text: string): Promise<void>;
  /** Every record of the table as [id, text], in no particular order. */
  list(table: string): Promise<Array<[string, string]>>;
}`;

/** That client kept in a Map of tables, each write a new version, for the generated test. */
export const recordsMapClient = (n: Names): string => `/** The client kept in a Map of tables; each write gives the record a new version. */
const mapClient = (): ${n.className}Client => {
  const tables = new Map<string, Map<string, { text: string; version: string }>>();
  const table = (name: string) => tables.get(name) ?? tables.set(name, new Map()).get(name)!;
  let versions = 0;
  const write = (name: string, id: string, text: string): void => {
    table(name).set(id, { text, version: String(++versions) });
  };
  return {
    get: async (name, id) => table(name).get(id),
    create: async (name, id, text) => {
      if (table(name).has(id)) return false;
      write(name, id, text);
      return true;
    },
    replace: async (name, id, text, version) => {
      if (table(name).get(id)?.version !== version) return false;
      write(name, id, text);
      return true;
    },
    put: async (name, id, text) => write(name, id, text),
    list: async (name) => [...table(name)].map(([id, record]) => [id, record.text]),
  };
};`;

/**
 * The read, change and conditional replace the CRM role templates update records with (each
 * generated project stands alone): `updateRecord`, over the records client, with `CrmError` imported.
 */
export const updateRecordSource = (n: Names): string => `/** Conditional replaces tried before a record that keeps changing is a \`Transient\` failure. */
const UPDATE_ATTEMPTS = 5;

/**
 * Replaces the record with \`change\` of it while no other writer came in between (If-Match on the
 * version read; on a miss it reads again and decides again). \`change\` answers undefined to write
 * nothing. Answers the record as it was when \`change\` decided, or undefined when there is none.
 */
async function updateRecord<T>(
  client: ${n.className}Client,
  table: string,
  id: string,
  change: (record: T) => T | undefined,
): Promise<{ readonly found: T; readonly written: boolean } | undefined> {
  for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
    const read = await client.get(table, id);
    if (read === undefined) return undefined;
    const found = JSON.parse(read.text) as T;
    const changed = change(found);
    if (changed === undefined) return { found, written: false };
    if (await client.replace(table, id, JSON.stringify(changed), read.version)) return { found, written: true };
  }
  throw new CrmError('Transient', \`the \${table} record \${JSON.stringify(id)} changed under each of \${UPDATE_ATTEMPTS} conditional writes\`);
}`;

/** A patch's keys that carry a value, as the CRM role templates apply patches: `definedOnly`. */
export const DEFINED_ONLY_SOURCE = `/** A patch's keys that carry a value: undefined means "leave alone", as in a Dataverse PATCH. */
const definedOnly = <T extends object>(patch: T): Partial<T> => Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;`;

/**
 * The device categories' table and `deviceCategoryOf`, written into the devices and the device
 * categories templates (a device of a new type makes its category), with `CrmError`,
 * `CrmDeviceCategory` and `randomUUID` imported.
 */
export const deviceCategoryOfSource = (
  n: Names,
): string => `/** One record per device category, under its name (an alternate key): two writers of one name make one category. */
export const DEVICE_CATEGORIES = 'msdyn_iotdevicecategories';

/** The category of a device type, made without readings or commands when the CRM has none: what writing a device of a new type does. */
export async function deviceCategoryOf(client: ${n.className}Client, name: string): Promise<CrmDeviceCategory> {
  const made: CrmDeviceCategory = { categoryId: randomUUID(), name, readings: [], commands: [] };
  if (await client.create(DEVICE_CATEGORIES, name, JSON.stringify(made))) return made;
  const found = await client.get(DEVICE_CATEGORIES, name);
  if (found === undefined) throw new CrmError('Transient', \`the device category \${JSON.stringify(name)} was deleted while it was read\`);
  return categoryOf(found.text);
}

/** A stored category; readings and commands empty where the organisation defines none. */
function categoryOf(text: string): CrmDeviceCategory {
  const stored = JSON.parse(text) as Partial<CrmDeviceCategory> & Pick<CrmDeviceCategory, 'categoryId' | 'name'>;
  return { categoryId: stored.categoryId, name: stored.name, readings: stored.readings ?? [], commands: stored.commands ?? [] };
}`;
