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
