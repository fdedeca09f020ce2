import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One HTTP request as the adapter sent it. */
export interface CapturedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** A pass-through HTTP proxy in front of an organisation that keeps every request it forwards. */
export async function recordingProxy(upstream: () => string, into: CapturedRequest[]): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      into.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: body.toString('utf8') });
      const forward = request(new URL(req.url ?? '/', upstream()), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', (e) => {
        res.writeHead(502);
        res.end(e.message);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A name the adapter used: an entity set, a column of a table, or a navigation property of a table. */
export interface UsedName {
  readonly kind: 'entity set' | 'column' | 'navigation';
  /** The entity set it was used on (for columns and navigations). */
  readonly on?: string;
  readonly name: string;
  /** Where it was seen, for the failure message. */
  readonly where: string;
}

/** A create the adapter sent: the entity set and the columns of its body. */
export interface UsedCreate {
  readonly entitySet: string;
  readonly columns: readonly string[];
}

const WEB_API = '/api/data/v9.2/';
const FILTER_WORDS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'and', 'or', 'not', 'null', 'true', 'false', 'contains', 'startswith', 'endswith']);

/** Every entity set, column and navigation name in the requests, `$batch` parts included. */
export function namesIn(requests: readonly CapturedRequest[]): { readonly names: UsedName[]; readonly creates: UsedCreate[] } {
  const names: UsedName[] = [];
  const creates: UsedCreate[] = [];
  const visit = (method: string, url: string, headers: Readonly<Record<string, unknown>>, body: string): void => {
    const target = new URL(url, 'http://x');
    const path = decodeURIComponent(target.pathname.slice(target.pathname.indexOf(WEB_API) + WEB_API.length));
    if (path === '$batch') {
      for (const part of batchParts(body)) visit(part.method, part.url, part.headers, part.body);
      return;
    }
    const where = `${method} ${decodeURIComponent(target.pathname + target.search)}`;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\(([^)]*)\))?(?:\/([A-Za-z_][A-Za-z0-9_]*))?/.exec(path);
    if (m === null) return;
    const set = m[1]!;
    names.push({ kind: 'entity set', name: set, where });
    if (set === 'EntityDefinitions') return;
    if (m[3] !== undefined) names.push({ kind: 'navigation', on: set, name: m[3], where });
    const q = target.searchParams;
    for (const name of listOf(q.get('$select'))) names.push({ kind: 'column', on: set, name, where });
    for (const item of listOf(q.get('$orderby'))) names.push({ kind: 'column', on: set, name: item.split(/\s+/)[0]!, where });
    for (const name of filterNames(q.get('$filter') ?? '')) names.push({ kind: 'column', on: set, name, where });
    for (const item of expandItems(q.get('$expand') ?? '')) {
      names.push({ kind: 'navigation', on: set, name: item.navigation, where });
      for (const name of item.select) names.push({ kind: 'column', on: `${set}/${item.navigation}`, name, where });
    }
    if ((method === 'POST' || method === 'PATCH') && body.trim() !== '' && m[3] === undefined) {
      const json = JSON.parse(body) as Record<string, unknown>;
      const columns: string[] = [];
      for (const key of Object.keys(json)) {
        if (key.endsWith('@odata.bind')) names.push({ kind: 'navigation', on: set, name: key.slice(0, -'@odata.bind'.length), where });
        else if (!key.startsWith('@')) {
          names.push({ kind: 'column', on: set, name: key, where });
          columns.push(key);
        }
      }
      const creating = method === 'POST' || String(headers['if-none-match'] ?? headers['If-None-Match'] ?? '') === '*';
      if (creating) creates.push({ entitySet: set, columns });
    }
  };
  for (const r of requests) visit(r.method, r.url, r.headers, r.body);
  return { names, creates };
}

function listOf(text: string | null): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The property names of a `$filter`: its identifiers once literals are taken out. */
function filterNames(filter: string): string[] {
  const withoutLiterals = filter
    .replace(/'(?:[^']|'')*'/g, ' ')
    .replace(/\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g, ' ')
    .replace(/\b\d{4}-\d{2}-\d{2}T[\d:.]+Z\b/g, ' ');
  return [...withoutLiterals.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)].map((x) => x[0]).filter((w) => !FILTER_WORDS.has(w));
}

function expandItems(expand: string): Array<{ navigation: string; select: string[] }> {
  return [...expand.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:\(([^)]*)\))?/g)].flatMap((x) => {
    if (x.index !== 0 && expand[x.index! - 1] !== ',') return [];
    const inner = new URLSearchParams((x[2] ?? '').replaceAll(';', '&'));
    return [{ navigation: x[1]!, select: listOf(inner.get('$select')) }];
  });
}

/** The operations of a multipart `$batch` body (changesets included). */
function batchParts(body: string): Array<{ method: string; url: string; headers: Record<string, string>; body: string }> {
  const parts: Array<{ method: string; url: string; headers: Record<string, string>; body: string }> = [];
  for (const chunk of body.split(/\r?\n--[^\r\n]+/)) {
    const start = /^(GET|POST|PATCH|PUT|DELETE) (\S+) HTTP\/1\.1$/m.exec(chunk);
    if (start === null) continue;
    const rest = chunk.slice(start.index + start[0].length);
    const split = /\r?\n\r?\n/.exec(rest);
    const headerText = split === null ? rest : rest.slice(0, split.index);
    const headers: Record<string, string> = {};
    for (const line of headerText.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ method: start[1]!, url: start[2]!, headers, body: split === null ? '' : rest.slice(split.index + split[0].length).trim() });
  }
  return parts;
}

interface SchemaTable {
  readonly entitySet: string;
  readonly logicalName: string;
  readonly primaryKey: string;
  readonly columns: Record<string, { readonly type: string; readonly requiredLevel?: string; readonly target?: string }>;
  readonly lookups?: Record<string, { readonly navigation: string | null; readonly target: string }>;
  readonly manyToMany?: readonly string[];
}

/**
 * What a stock organisation with CFS has, read straight from the transcription of Microsoft's
 * table references (the JSON, not the emulator's loader of it). Also allowed, each with its
 * reference: the CFS actions, the Web API's metadata entity set, the platform's note columns.
 */
export function stockNames(schemaFile: URL): {
  isEntitySet(name: string): boolean;
  isColumn(entitySet: string, name: string): boolean;
  isNavigation(entitySet: string, name: string): boolean;
  requiredOnCreate(entitySet: string): string[];
} {
  const doc = JSON.parse(readFileSync(schemaFile, 'utf8')) as { tables: Record<string, SchemaTable> };
  const tables = Object.values(doc.tables);
  const bySet = new Map(tables.map((t) => [t.entitySet, t]));
  const byLogical = new Map(tables.map((t) => [t.logicalName, t]));
  const navigationTarget = (t: SchemaTable, nav: string): SchemaTable | undefined => {
    const lookup = Object.values(t.lookups ?? {}).find((l) => l.navigation === nav);
    if (lookup !== undefined) return byLogical.get(lookup.target);
    // A many-to-many relationship may be listed on one side only in the references.
    const listing = tables.filter((o) => (o.manyToMany ?? []).some((r) => r.split(/\s/)[0] === nav));
    if (listing.length === 0) return undefined;
    const others = listing.filter((o) => o !== t);
    if (!listing.includes(t)) return others[0];
    if (others.length > 0) return others[0];
    const entry = (t.manyToMany ?? []).find((r) => r.split(/\s/)[0] === nav)!;
    const to = /\(to ([a-z_]+)\)/.exec(entry)?.[1] ?? tables.find((o) => o !== t && entry.slice(nav.length).includes(o.logicalName))?.logicalName;
    return to === undefined ? undefined : byLogical.get(to);
  };
  const resolve = (on: string): SchemaTable | undefined => {
    const [set, nav] = on.split('/');
    const t = bySet.get(set!);
    return nav === undefined || t === undefined ? t : navigationTarget(t, nav);
  };
  // The CFS actions (https://learn.microsoft.com/en-us/dynamics365/field-service/cfs-configure-actions)
  // and the metadata entity set (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/query-metadata-web-api).
  const otherSets = new Set(['msdyn_RegisterIoTDevice', 'msdyn_PullDataForIoTDevice', 'EntityDefinitions']);
  // The note is a platform table the transcription did not research beyond objectid:
  // https://learn.microsoft.com/en-us/power-apps/developer/data-platform/reference/entities/annotation
  const noteColumns = new Set(['annotationid', 'subject', 'notetext', 'objecttypecode', '_objectid_value']);
  return {
    isEntitySet: (name) => bySet.has(name) || otherSets.has(name),
    isColumn: (on, name) => {
      // The parameter of the two CFS actions as the emulator and the adapter pass it.
      if ((on === 'msdyn_RegisterIoTDevice' || on === 'msdyn_PullDataForIoTDevice') && name === 'IoTDeviceIds') return true;
      const t = resolve(on);
      if (t === undefined) return false;
      if (t.logicalName === 'annotation' && noteColumns.has(name)) return true;
      if (name === t.primaryKey || name in t.columns) return true;
      const lookup = /^_(.+)_value$/.exec(name)?.[1];
      return lookup !== undefined && ['Lookup', 'Owner', 'Customer'].includes(t.columns[lookup]?.type ?? '');
    },
    isNavigation: (on, name) => {
      const t = resolve(on);
      if (t === undefined) return false;
      if (t.logicalName === 'annotation' && /^objectid_[a-z_]+$/.test(name) && byLogical.has(name.slice('objectid_'.length))) return true;
      return navigationTarget(t, name) !== undefined;
    },
    requiredOnCreate: (set) =>
      Object.entries(bySet.get(set)?.columns ?? {})
        .filter(([, c]) => c.requiredLevel === 'ApplicationRequired' && c.type !== 'Lookup')
        .map(([n]) => n),
  };
}
