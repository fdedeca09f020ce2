import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { unzipSync } from 'fflate';

/** A column an imported solution adds to an existing table, in the stock schema's terms. */
export interface SolutionColumn {
  readonly type: string;
  readonly maxLength?: number;
  readonly requiredLevel?: string;
}

/** What a solution adds: columns per logical table name. */
export type SolutionColumns = Record<string, Record<string, SolutionColumn>>;

/**
 * Reads an unmanaged solution zip as a customizer imports it: `[Content_Types].xml`,
 * `solution.xml` and `customizations.xml`, whose `Entities/Entity/EntityInfo/entity/attributes`
 * declare the columns the solution adds (`<Type>` nvarchar, ntext, int, bit, datetime,
 * picklist; `<MaxLength>`; `<RequiredLevel>`). Only attributes are taken: the emulator serves no
 * forms, views or processes.
 */
export function readSolutionColumns(zip: string | Uint8Array): SolutionColumns {
  const files = unzipSync(typeof zip === 'string' ? new Uint8Array(readFileSync(zip)) : zip);
  for (const required of ['[Content_Types].xml', 'solution.xml', 'customizations.xml']) {
    if (files[required] === undefined) throw new Error(`not a Dataverse solution: ${required} is missing`);
  }
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => ['Entity', 'attribute'].includes(name) });
  const xml = parser.parse(new TextDecoder().decode(files['customizations.xml'])) as {
    ImportExportXml?: {
      Entities?: { Entity?: Array<{ EntityInfo?: { entity?: { '@Name'?: string; attributes?: { attribute?: Array<Record<string, unknown>> } } } }> };
    };
  };
  const out: SolutionColumns = {};
  for (const entity of xml.ImportExportXml?.Entities?.Entity ?? []) {
    const table = entity.EntityInfo?.entity?.['@Name'];
    if (typeof table !== 'string') continue;
    for (const attribute of entity.EntityInfo?.entity?.attributes?.attribute ?? []) {
      const name = String(attribute['LogicalName'] ?? attribute['Name'] ?? '').toLowerCase();
      const type = typeOf(String(attribute['Type'] ?? ''));
      if (name === '' || type === undefined)
        throw new Error(`solution: attribute ${JSON.stringify(name)} of ${table} has a type the emulator does not load (${String(attribute['Type'])})`);
      const maxLength = attribute['MaxLength'] === undefined ? undefined : Number(attribute['MaxLength']);
      const level = String(attribute['RequiredLevel'] ?? 'none');
      (out[table] ??= {})[name] = {
        type,
        ...(maxLength !== undefined ? { maxLength } : {}),
        requiredLevel:
          level === 'systemrequired' ? 'SystemRequired' : level === 'required' ? 'ApplicationRequired' : level === 'recommended' ? 'Recommended' : 'None',
      };
    }
  }
  return out;
}

function typeOf(xmlType: string): string | undefined {
  return { nvarchar: 'String', ntext: 'Memo', int: 'Integer', bit: 'Boolean', datetime: 'DateTime', float: 'Double' }[xmlType.toLowerCase()];
}
