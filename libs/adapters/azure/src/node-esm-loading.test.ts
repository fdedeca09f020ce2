import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageRoot = fileURLToPath(new URL('..', import.meta.url));

// Vitest bundles CommonJS dependencies its own way, so a named import of a CommonJS package
// (`import { Registry } from 'azure-iothub'`) passes here and fails under Node's ESM loader, where
// the composition runs. Load the package in a plain Node process to catch that.
async function loadUnderNode(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: packageRoot, timeout: 50_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('loading under plain Node ESM (tsx, outside vitest)', () => {
  it('imports @fieldlink/adapter-azure and finds every adapter class', async () => {
    const result = await loadUnderNode(
      "const m = await import('@fieldlink/adapter-azure'); console.log(JSON.stringify(Object.keys(m).filter((k) => typeof m[k] === 'function')));",
    );
    expect(result.stderr).not.toMatch(/SyntaxError|does not provide an export/);
    expect(result.code).toBe(0);
    const names = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '[]') as string[];
    expect(names).toEqual(
      expect.arrayContaining([
        'ServiceBusQueue',
        'BlobReferenceData',
        'EventHubsTelemetryIntake',
        'IotHubRegistry',
        'IotHubCloudToDevice',
        'IotHubDeviceClient',
      ]),
    );
  }, 60_000);

  it('reports a named import of a CommonJS package as a failure (the check can fail)', async () => {
    const result = await loadUnderNode("import { Registry } from 'azure-iothub'; console.log(typeof Registry);");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('does not provide an export named');
  }, 60_000);
});
