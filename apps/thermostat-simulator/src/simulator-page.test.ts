import { parseConfig } from '@fieldlink/composition';
import { launchTestBrowser, screenshotPath, type TestBrowser } from '@fieldlink/ui-console/testing';
import { startSimulatorServer } from '@fieldlink/ui-thermostat-simulator';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatorFleet, type SimulatorFleet } from './simulator-fleet.js';

let sim: SimulatorFleet;
let browser: TestBrowser;
let close: () => Promise<void>;
let page: Page;

beforeAll(async () => {
  const config = parseConfig({ simulator: { devices: 4, drifting: 1, intervalMs: 300, heartbeatIntervalMs: 0 } });
  if (!config.ok) throw new Error(JSON.stringify(config.error));
  const created = await createSimulatorFleet(config.value, 4);
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  sim = created.value;
  sim.fleet.start();
  const server = await startSimulatorServer({ fleet: sim.fleet, port: 0, prepareDevice: (deviceId) => sim.registerDevices([deviceId]) });
  browser = await launchTestBrowser();
  page = await browser.context.newPage();
  await page.goto(server.url);
  close = async () => {
    await browser.close();
    await server.close();
    await sim.close();
  };
});

afterAll(async () => {
  await close?.();
});

const card = (deviceId: string) => page.locator(`.card[data-device-id="${deviceId}"]`);

describe('thermostat simulator page in chromium', () => {
  it('shows each thermostat live: readings, target, connection, sent count', async () => {
    await card('thermostat-4').waitFor();
    expect(await page.locator('.card').count()).toBe(4);
    expect(await card('thermostat-2').locator('[data-field="connection"]').innerText()).toBe('Connected');
    const sent = async () => Number(await card('thermostat-2').locator('[data-field="sent"]').innerText());
    const first = await sent();
    await expect.poll(sent).toBeGreaterThan(first);
    expect(await card('thermostat-1').locator('[data-field="drift"]').innerText()).toBe('+30°/min');
  });

  it('adds a thermostat from the form, nudges it over the threshold, pauses and removes it', async () => {
    const form = page.locator('#add-device');
    await form.locator('input[name="deviceId"]').fill('lab-7');
    await form.locator('input[name="temperature"]').fill('64');
    await form.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => card('lab-7').locator('[data-field="connection"]').innerText()).toBe('Connected');
    expect(await card('lab-7').locator('[data-field="target"]').innerText()).toBe('64.0°');

    await card('lab-7').locator('form[data-action="nudge"] input').fill('15');
    await card('lab-7').getByRole('button', { name: 'Nudge' }).click();
    await expect.poll(() => card('lab-7').getAttribute('class')).toContain('hot');
    expect(sim.fleet.get('lab-7')!.temperature).toBeGreaterThan(70);

    await card('lab-7').getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => card('lab-7').locator('[data-field="connection"]').innerText()).toBe('Paused');
    // Step the fleet by hand instead of waiting: a tick that began before the pause ends first,
    // then two whole ticks send a reading from every running thermostat and none from lab-7.
    await sim.fleet.tick();
    const sentWhilePaused = sim.fleet.get('lab-7')!.telemetrySent;
    const sentByRunning = sim.fleet.get('thermostat-1')!.telemetrySent;
    await sim.fleet.tick();
    await sim.fleet.tick();
    expect(sim.fleet.get('thermostat-1')!.telemetrySent).toBeGreaterThan(sentByRunning);
    expect(sim.fleet.get('lab-7')!.telemetrySent).toBe(sentWhilePaused);
    await page.screenshot({ path: await screenshotPath('simulator-fleet'), fullPage: true });

    await card('lab-7').getByRole('button', { name: 'Remove' }).click();
    await card('lab-7').waitFor({ state: 'detached' });
    expect(sim.fleet.get('lab-7')).toBeUndefined();
  });

  it('refuses bad input with a clear message next to the form, and changes nothing', async () => {
    const form = page.locator('#add-device');
    await form.locator('input[name="deviceId"]').fill('');
    await form.locator('input[name="humidity"]').fill('lots');
    await form.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => form.locator('.message').innerText()).toBe('deviceId: required: enter a value; humidity: expected a number, got "lots"');
    expect(sim.fleet.size).toBe(4);

    const before = sim.fleet.get('thermostat-3')!.target;
    await card('thermostat-3').locator('form[data-action="nudge"] input').fill('warmer');
    await card('thermostat-3').getByRole('button', { name: 'Nudge' }).click();
    await expect.poll(() => card('thermostat-3').locator('.message').innerText()).toBe('degrees: expected a number, got "warmer"');
    await card('thermostat-3').locator('form[data-action="drift"] input').fill('');
    await card('thermostat-3').getByRole('button', { name: 'Set drift' }).click();
    await expect.poll(() => card('thermostat-3').locator('.message').innerText()).toBe('perMinute: required: enter a number');
    expect(sim.fleet.get('thermostat-3')).toMatchObject({ driftPerMinute: 0, target: before });
    await page.screenshot({ path: await screenshotPath('simulator-refused-input') });
  });
});
