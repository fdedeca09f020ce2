import { describe, expect, it } from 'vitest';
import { ChromiumNotFoundError, findChromium } from './test-browser.js';

const only =
  (...paths: string[]) =>
  (path: string) =>
    paths.includes(path);

describe('findChromium', () => {
  it('takes FIELDLINK_CHROMIUM first, then Debian’s /usr/bin/chromium, then Playwright’s download', () => {
    expect(findChromium({ FIELDLINK_CHROMIUM: '/opt/chrome/chrome' }, only('/opt/chrome/chrome', '/usr/bin/chromium'))).toBe('/opt/chrome/chrome');
    expect(findChromium({}, only('/usr/bin/chromium', '/pw/chrome'), () => '/pw/chrome')).toBe('/usr/bin/chromium');
    expect(findChromium({ FIELDLINK_CHROMIUM: '' }, only('/pw/chrome'), () => '/pw/chrome')).toBe('/pw/chrome');
  });

  it('with none, fails with one line saying what to install, and no stack trace', () => {
    const failure = (() => {
      try {
        findChromium(
          {},
          () => false,
          () => '/pw/chrome',
        );
      } catch (e) {
        return e;
      }
    })();
    expect(failure).toBeInstanceOf(ChromiumNotFoundError);
    expect((failure as Error).message).toContain("install Debian's package (apt-get install chromium)");
    expect((failure as Error).stack).toBe(`ChromiumNotFoundError: ${(failure as Error).message}`);
    expect((failure as Error).message).not.toContain('\n');
  });

  it('refuses a FIELDLINK_CHROMIUM that does not exist, naming it, rather than falling back', () => {
    expect(() => findChromium({ FIELDLINK_CHROMIUM: '/nowhere/chrome' }, only('/usr/bin/chromium'))).toThrow(
      'FIELDLINK_CHROMIUM is /nowhere/chrome, which does not exist',
    );
  });
});
