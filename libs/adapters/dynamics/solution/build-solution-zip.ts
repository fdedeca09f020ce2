/**
 * Packs `solution/FieldlinkExtension/` into `solution/FieldlinkExtension.zip`, the file a
 * customizer imports (Power Apps → Solutions → Import solution). Run after changing any of the
 * three files: `npx tsx libs/adapters/dynamics/solution/build-solution-zip.ts`; a test checks the
 * zip holds exactly the files of the folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { zipSync } from 'fflate';

export const SOLUTION_FILES = ['[Content_Types].xml', 'solution.xml', 'customizations.xml'] as const;
export const SOLUTION_DIR = new URL('./FieldlinkExtension/', import.meta.url);
export const SOLUTION_ZIP = new URL('./FieldlinkExtension.zip', import.meta.url);

export function packSolution(): Uint8Array {
  // A fixed time stamp keeps the zip byte for byte the same for the same files.
  const mtime = new Date('2026-01-01T00:00:00Z');
  return zipSync(Object.fromEntries(SOLUTION_FILES.map((name) => [name, [new Uint8Array(readFileSync(new URL(name, SOLUTION_DIR))), { mtime }]])), {
    level: 9,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SOLUTION_ZIP, packSolution());
  console.log(`wrote ${SOLUTION_ZIP.pathname}`);
}
