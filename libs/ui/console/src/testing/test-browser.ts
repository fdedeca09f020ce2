import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

/** Where a Chromium is looked for when FIELDLINK_CHROMIUM names none: Debian's and Ubuntu's packages, Google Chrome. */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'] as const;

/** No Chromium to drive: one line saying what to install, without a stack trace. */
export class ChromiumNotFoundError extends Error {
  readonly code = 'ChromiumNotFound';
  constructor(message: string) {
    super(message);
    this.name = 'ChromiumNotFoundError';
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * The Chromium the browser tests drive: FIELDLINK_CHROMIUM when set (it must exist), else the
 * first of CHROMIUM_CANDIDATES, else one Playwright downloaded (`npx playwright install chromium`).
 * Playwright never downloads a browser here. None: a ChromiumNotFoundError saying what to install.
 */
export function findChromium(
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
  playwrights: () => string | undefined = playwrightChromium,
): string {
  const named = env['FIELDLINK_CHROMIUM'];
  if (named !== undefined && named !== '') {
    if (exists(named)) return named;
    throw new ChromiumNotFoundError(
      `FIELDLINK_CHROMIUM is ${named}, which does not exist: point it at a Chromium or Chrome executable, or unset it and install Debian's package (apt-get install chromium)`,
    );
  }
  const found = [...CHROMIUM_CANDIDATES, playwrights()].find((path): path is string => path !== undefined && exists(path));
  if (found !== undefined) return found;
  throw new ChromiumNotFoundError(
    `no Chromium for the browser tests (looked at ${CHROMIUM_CANDIDATES.join(', ')} and Playwright's own): install Debian's package (apt-get install chromium) or set FIELDLINK_CHROMIUM to a Chromium executable`,
  );
}

function playwrightChromium(): string | undefined {
  try {
    return chromium.executablePath();
  } catch {
    return undefined;
  }
}

export interface TestBrowser {
  /** Pages open with `context.newPage()`; they share cookies (the token cookie too). */
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, no network beyond the pages under test; close() removes the profile. */
export async function launchTestBrowser(): Promise<TestBrowser> {
  const executablePath = findChromium();
  const profile = await mkdtemp(join(tmpdir(), 'fieldlink-chromium-'));
  // A persistent context is how Playwright takes --user-data-dir: a fresh one per launch.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
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
