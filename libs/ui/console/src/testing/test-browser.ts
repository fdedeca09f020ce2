import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium (apt-get install chromium); Playwright never downloads a browser here. */
export const CHROMIUM_PATH = process.env['FIELDLINK_CHROMIUM'] ?? '/usr/bin/chromium';

export interface TestBrowser {
  /** Pages open with `context.newPage()`; they share cookies (the token cookie too). */
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, no network beyond the pages under test; close() removes the profile. */
export async function launchTestBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'fieldlink-chromium-'));
  // A persistent context is how Playwright takes --user-data-dir: a fresh one per launch.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

const workspaceRoot = fileURLToPath(new URL('../../../../../', import.meta.url));

/** Where screenshots go as test artifacts: `tmp/screenshots/<name>.png` at the workspace root. */
export async function screenshotPath(name: string): Promise<string> {
  const path = join(workspaceRoot, 'tmp', 'screenshots', `${name}.png`);
  await mkdir(dirname(path), { recursive: true });
  return path;
}
