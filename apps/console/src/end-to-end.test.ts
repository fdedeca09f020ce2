import { createLocalStack, parseConfig, type LocalStack } from '@fieldlink/composition';
import { TOKENS } from '@fieldlink/ports';
import { startConsoleServer, type WebServerHandle } from '@fieldlink/ui-console';
import { launchTestBrowser, screenshotPath, type TestBrowser } from '@fieldlink/ui-console/testing';
import { startSimulatorServer } from '@fieldlink/ui-thermostat-simulator';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { consoleServicesOf } from './console-services.js';

let stack: LocalStack | undefined;
let simulatorServer: WebServerHandle | undefined;
let consoleServer: WebServerHandle | undefined;
let browser: TestBrowser | undefined;

beforeAll(async () => {
  const config = parseConfig({ simulator: { devices: 3, drifting: 0, intervalMs: 500, heartbeatIntervalMs: 1000 } });
  if (!config.ok) throw new Error(JSON.stringify(config.error));
  const created = await createLocalStack(config.value);
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  stack = created.value;
  await stack.start();
  simulatorServer = await startSimulatorServer({ fleet: stack.fleet, port: 0 });
  consoleServer = await startConsoleServer({ ...consoleServicesOf(stack.runtime), port: 0, refreshIntervalMs: 1000 });
  browser = await launchTestBrowser();
});

// Whatever the tests' outcome, each by its own handle, what started of it: the browser first (its
// pages hold the servers' event streams open), then the servers, then the stack. A close that
// fails does not keep the others from closing; the failures are reported together at the end.
afterAll(async () => {
  const failures: unknown[] = [];
  for (const close of [() => browser?.close(), () => simulatorServer?.close(), () => consoleServer?.close(), () => stack?.stop()]) {
    try {
      await close();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} of the end-to-end test's resources failed to close`);
});

/** A new page of the shared browser at `url`, closed when the test ends, whatever its outcome. */
async function openPage(url: string) {
  const page = await browser!.context.newPage();
  onTestFinished(() => page.close());
  await page.goto(url);
  return page;
}

describe('simulator and console in chromium, over the whole loop', () => {
  it('a nudge over the threshold shows up as an alert in the console; Set Values from the console reaches the thermostat and its command is acknowledged', async () => {
    const simulator = await openPage(simulatorServer!.url);
    const consolePage = await openPage(consoleServer!.url);
    const card = simulator.locator('.card[data-device-id="thermostat-2"]');
    await card.waitFor();
    await consolePage.locator('#devices tr[data-device-id="thermostat-2"]').waitFor();
    expect(await consolePage.locator('#alerts tbody tr').count()).toBe(0);

    // The simulator page: nudge thermostat-2 by +20, from about 61 to over the CFS threshold of 70.
    await card.locator('form[data-action="nudge"] input').fill('20');
    await card.getByRole('button', { name: 'Nudge' }).click();
    await expect.poll(async () => Number(await card.locator('[data-field="temperature"]').innerText())).toBeGreaterThan(70);

    // The console page, never reloaded: the alert arrives over the live stream.
    const alertRow = consolePage.locator('#alerts tr.root[data-device-id="thermostat-2"]').first();
    await alertRow.waitFor();
    expect(await alertRow.innerText()).toMatch(/Temperature reading of 8\d(\.\d)? exceeded a threshold of 70/);

    // Set Values from the console.
    await alertRow.getByRole('button', { name: 'Send command…' }).click();
    const dialog = consolePage.locator('#action-dialog');
    await dialog.locator('input[name="commandName"]').fill('Set Values');
    await dialog.locator('input[name="parameter:Reading.Temperature"]').fill('55');
    await dialog.locator('input[name="parameter:Reading.Humidity"]').fill('35');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await dialog.waitFor({ state: 'hidden' });

    // The thermostat got it: its target is 55 and it answers Set Values; its reading moves there.
    await expect.poll(() => card.locator('[data-field="target"]').innerText(), { timeout: 30_000 }).toBe('55.0°');
    expect(await card.locator('[data-field="command"]').innerText()).toMatch(/^Set Values · done/);
    await expect.poll(async () => Number(await card.locator('[data-field="temperature"]').innerText()), { timeout: 30_000 }).toBeLessThan(60);

    // The console shows the command's whole way: requested → sent → delivered → acknowledged.
    const crm = stack!.get(TOKENS.CrmGateway);
    const ours = (await crm.listCommands({ deviceId: 'thermostat-2' })).find((c) => c.message.includes('"55"'))!;
    expect(JSON.parse(ours.message)).toEqual({ CommandName: 'Set Values', Parameters: { Reading: { Temperature: '55', Humidity: '35' } } });
    const commandRow = consolePage.locator(`#commands tr[data-command-id="${ours.commandId}"]`);
    await expect.poll(() => commandRow.getAttribute('data-state'), { timeout: 30_000 }).toBe('acknowledged');
    expect(await commandRow.innerText()).toMatch(/Set Values[\s\S]*"Temperature":"55"[\s\S]*Sent/);

    await simulator.screenshot({ path: await screenshotPath('simulator-after-set-values'), fullPage: true });
    await consolePage.screenshot({ path: await screenshotPath('console-after-set-values'), fullPage: true });
  });

  it('pausing a thermostat in the simulator turns it Offline in the console (no heartbeat), and resuming brings it back Online', async () => {
    const simulator = await openPage(simulatorServer!.url);
    const consolePage = await openPage(consoleServer!.url);
    const connection = consolePage.locator('#devices tr[data-device-id="thermostat-3"] td').nth(1);
    await expect.poll(() => connection.innerText(), { timeout: 30_000 }).toBe('Online');

    const card = simulator.locator('.card[data-device-id="thermostat-3"]');
    await card.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => card.locator('[data-field="connection"]').innerText()).toBe('Paused');
    // Heartbeats every second, offline after three silent intervals: the console says so by itself.
    await expect.poll(() => connection.innerText(), { timeout: 30_000 }).toBe('Offline');
    await consolePage.screenshot({ path: await screenshotPath('console-device-offline'), fullPage: true });

    await card.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => connection.innerText(), { timeout: 30_000 }).toBe('Online');
  });
});
