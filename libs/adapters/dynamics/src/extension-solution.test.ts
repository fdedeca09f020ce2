import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { packSolution, SOLUTION_DIR, SOLUTION_FILES, SOLUTION_ZIP } from '../solution/build-solution-zip.js';
import { ExtensionColumns } from './cfs-tables.js';

describe('the Fieldlink extension solution shipped in the repository', () => {
  it('is a zip of exactly its three source files, as build-solution-zip.ts packs them', () => {
    const shipped = unzipSync(new Uint8Array(readFileSync(SOLUTION_ZIP)));
    expect(Object.keys(shipped).sort()).toEqual([...SOLUTION_FILES].sort());
    for (const name of SOLUTION_FILES) expect(new TextDecoder().decode(shipped[name]), name).toBe(readFileSync(new URL(name, SOLUTION_DIR), 'utf8'));
    expect(Buffer.from(packSolution()).equals(readFileSync(SOLUTION_ZIP))).toBe(true);
  });

  it('adds the column the adapter looks for, on the table it looks on, under the publisher prefix fl', () => {
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });
    const customizations = parser.parse(readFileSync(new URL('customizations.xml', SOLUTION_DIR), 'utf8'));
    const entity = customizations.ImportExportXml.Entities.Entity.EntityInfo.entity;
    expect(entity['@Name']).toBe(ExtensionColumns.commandState.entity);
    expect(entity.attributes.attribute).toMatchObject({ LogicalName: ExtensionColumns.commandState.column, Type: 'nvarchar', MaxLength: 20 });
    const solution = parser.parse(readFileSync(new URL('solution.xml', SOLUTION_DIR), 'utf8'));
    expect(solution.ImportExportXml.SolutionManifest).toMatchObject({ UniqueName: 'FieldlinkExtension', Managed: 0, Publisher: { CustomizationPrefix: 'fl' } });
  });
});
