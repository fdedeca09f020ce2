import { aCrmDevice } from '@fieldlink/ports/testing';
import { AlertState, AlertStatus, AlertType, BUILT_IN_DEVICE_TYPES, RegistrationStatus } from '@fieldlink/domain';
import { InMemoryCrm, InMemoryDeviceRegistry, InMemoryStatusStore, SequentialIds } from '@fieldlink/adapter-in-memory';
import { AlertActions, CommandRequests, DeviceRegistrations, deviceTypeCommandCatalog } from '@fieldlink/flows';
import { silentLog } from '@fieldlink/ports';
import type { WebServerHandle } from '@fieldlink/ui-web-kit';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchTestBrowser, screenshotPath, type TestBrowser } from '../testing/test-browser.js';
import { startConsoleServer } from './console-server.js';

const NOW = Date.now();
const TOKEN = 'console-token-0123456789';

/** A CRM with two thermostats (one unregistered), an alert with a repeat, and a minute of readings. */
async function stack() {
  const crm = new InMemoryCrm(new SequentialIds('rec'));
  const statusStore = new InMemoryStatusStore();
  const catalog = deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES);
  const commands = new CommandRequests({ crm, catalog, log: silentLog, defaultDeviceType: 'Thermostat' });
  const alertActions = new AlertActions({ crm, commands, log: silentLog });
  const registrations = new DeviceRegistrations({ crm, registry: new InMemoryDeviceRegistry(), log: silentLog });
  await crm.upsertDevice(aCrmDevice({ deviceRecordId: 'dev-1', deviceId: 'thermostat-1', name: 'Lobby' }));
  await crm.upsertDevice(
    aCrmDevice({ deviceRecordId: 'dev-2', deviceId: 'thermostat-2', name: 'Server room', registrationStatus: RegistrationStatus.Unregistered }),
  );
  const alert = {
    deviceId: 'thermostat-1',
    description: 'Temperature reading of 76 exceeded a threshold of 70',
    alertData: '{}',
    alertType: AlertType.Anomaly,
    state: AlertState.Active,
    status: AlertStatus.Active,
  } as const;
  const root = await crm.createIoTAlert({ ...alert, alertToken: 'token-1', alertTime: NOW - 120_000, deviceRecordId: 'dev-1' });
  await crm.createIoTAlert({
    ...alert,
    alertToken: 'token-2',
    alertTime: NOW - 60_000,
    description: 'Temperature reading of 77 exceeded a threshold of 70',
    parentAlertId: root.alertId,
  });
  await statusStore.upsertDeviceHealth({
    deviceId: 'thermostat-1',
    lastActivityTime: NOW - 2000,
    online: true,
    lastReadings: { Temperature: 77, Humidity: 41 },
  });
  await statusStore.upsertDeviceHealth({
    deviceId: 'thermostat-2',
    lastActivityTime: NOW - 600_000,
    online: false,
    lastReadings: { Temperature: 61, Humidity: 44 },
  });
  const minute = Math.floor(NOW / 60_000) * 60_000;
  const rows = [];
  for (let i = 12; i >= 1; i--) {
    const avg = 62 + (12 - i) * 1.3;
    rows.push({ deviceId: 'thermostat-1', readingType: 'Temperature', windowEnd: minute - i * 60_000, count: 60, min: avg - 0.8, max: avg + 0.9, avg });
    rows.push({ deviceId: 'thermostat-1', readingType: 'Humidity', windowEnd: minute - i * 60_000, count: 60, min: 40, max: 43, avg: 41 + Math.sin(i) });
  }
  await statusStore.writeAggregates(rows);
  return { crm, statusStore, alertActions, registrations, rootAlertId: root.alertId };
}

type Stack = Awaited<ReturnType<typeof stack>>;
let s: Stack;
let server: WebServerHandle | undefined;

async function start(options: { token?: string } = {}): Promise<string> {
  s = await stack();
  server = await startConsoleServer({ ...s, deviceTypes: BUILT_IN_DEVICE_TYPES, port: 0, ...options });
  return server.url;
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('console server API', () => {
  it('reads devices with health and registration, alerts grouped parent/child, and per-minute aggregates', async () => {
    const url = await start();
    const snapshot = (await (await fetch(`${url}api/snapshot`)).json()) as {
      devices: Array<Record<string, unknown>>;
      alerts: Array<{ alertId: string; children: unknown[]; status: { label: string } }>;
    };
    expect(snapshot.devices).toMatchObject([
      { deviceId: 'thermostat-1', online: true, registration: { label: 'Registered' }, lastReadings: { Temperature: 77 } },
      { deviceId: 'thermostat-2', online: false, registration: { label: 'Unregistered' } },
    ]);
    expect(snapshot.alerts).toHaveLength(1);
    expect(snapshot.alerts[0]).toMatchObject({ alertId: s.rootAlertId, status: { label: 'Active' } });
    expect(snapshot.alerts[0]!.children).toHaveLength(1);
    const aggregates = (await (await fetch(`${url}api/devices/thermostat-1/aggregates?minutes=60`)).json()) as { rows: unknown[] };
    expect(aggregates.rows).toHaveLength(24);
    expect((await fetch(`${url}api/devices/thermostat-1/aggregates?minutes=abc`)).status).toBe(400);
  });

  it('sends a valid command through the alert actions, and the alert goes to Command Sent', async () => {
    const url = await start();
    const response = await post(`${url}api/alerts/${s.rootAlertId}/commands`, {
      commandName: 'Set Values',
      parameters: { 'Reading.Temperature': '65', 'Reading.Humidity': '' },
    });
    expect(response.status).toBe(200);
    const [command] = await s.crm.listCommands();
    expect(command).toMatchObject({ name: 'Set Values', deviceId: 'thermostat-1', parentAlertId: s.rootAlertId, state: 'requested' });
    expect(JSON.parse(command!.message)).toEqual({ CommandName: 'Set Values', Parameters: { Reading: { Temperature: '65' } } });
    expect(await s.crm.getIoTAlert(s.rootAlertId)).toMatchObject({ status: AlertStatus.InProgressCommandSent });
  });

  it('refuses an unknown command, a non-numeric Set Values and empty fields with the reason, and sends nothing', async () => {
    const url = await start();
    const unknown = await post(`${url}api/alerts/${s.rootAlertId}/commands`, { commandName: 'Self Destruct', parameters: {} });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain('\\"Self Destruct\\" is not a command of Thermostat');
    const nonNumeric = await post(`${url}api/alerts/${s.rootAlertId}/commands`, { commandName: 'Set Values', parameters: { 'Reading.Temperature': 'warm' } });
    expect(await nonNumeric.json()).toEqual({
      ok: false,
      issues: [{ path: 'Parameters.Reading.Temperature', message: 'expected a number written as a string, e.g. "30"' }],
    });
    const none = await post(`${url}api/alerts/${s.rootAlertId}/commands`, { commandName: 'Set Values', parameters: {} });
    expect(JSON.stringify(await none.json())).toContain('expected at least one of Temperature, Humidity');
    const empty = await post(`${url}api/alerts/${s.rootAlertId}/commands`, { commandName: ' ' });
    expect(await empty.json()).toEqual({ ok: false, issues: [{ path: 'commandName', message: 'required: choose a command' }] });
    const emptyCase = await post(`${url}api/alerts/${s.rootAlertId}/case`, { title: '' });
    expect(await emptyCase.json()).toEqual({ ok: false, issues: [{ path: 'title', message: 'required: enter some text' }] });
    const emptyOrder = await post(`${url}api/alerts/${s.rootAlertId}/work-order`, {});
    expect(emptyOrder.status).toBe(400);
    expect(await s.crm.listCommands()).toEqual([]);
    expect(await s.crm.listCases()).toEqual([]);
    expect(await s.crm.listWorkOrders()).toEqual([]);
    expect(await s.crm.getIoTAlert(s.rootAlertId)).toMatchObject({ status: AlertStatus.Active });
  });

  it('creates a case and a work order, closes the alert, and registers a device', async () => {
    const url = await start();
    expect((await post(`${url}api/alerts/${s.rootAlertId}/case`, { title: 'Lobby too warm' })).status).toBe(200);
    expect((await post(`${url}api/alerts/${s.rootAlertId}/work-order`, { summary: 'Check the compressor' })).status).toBe(200);
    expect(await s.crm.listCases()).toMatchObject([{ title: 'Lobby too warm', alertId: s.rootAlertId }]);
    expect(await s.crm.listWorkOrders()).toMatchObject([{ summary: 'Check the compressor', alertId: s.rootAlertId }]);
    expect((await post(`${url}api/alerts/${s.rootAlertId}/close`, {})).status).toBe(200);
    expect(await s.crm.getIoTAlert(s.rootAlertId)).toMatchObject({ state: AlertState.Closed, status: AlertStatus.Closed });
    const closed = await post(`${url}api/alerts/${s.rootAlertId}/commands`, { commandName: 'Reset Thermostat' });
    expect(closed.status).toBe(409);
    expect((await post(`${url}api/devices/dev-2/register`, {})).status).toBe(200);
    expect(await s.crm.getDevice('dev-2')).toMatchObject({ registrationStatus: RegistrationStatus.Registered });
    expect((await post(`${url}api/devices/nobody/register`, {})).status).toBe(404);
  });

  it('tells the pages to refresh when the feed reports an event', async () => {
    s = await stack();
    const listeners = new Set<(e: { event: string }) => void>();
    const events = { subscribe: (l: (e: { event: string }) => void) => (listeners.add(l), () => void listeners.delete(l)) };
    server = await startConsoleServer({ ...s, deviceTypes: BUILT_IN_DEVICE_TYPES, events, port: 0 });
    const reader = (await fetch(`${server.url}api/events`)).body!.getReader();
    for (const l of listeners) l({ event: 'alert.created' });
    let text = '';
    while (!text.includes('event: changed')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"events":["alert.created"]');
    await reader.cancel();
    await server.close();
    server = undefined;
    expect(listeners.size).toBe(0);
  });

  it('keeps the token rule: refuses to start exposed without one, checks it on every request and the live stream', async () => {
    s = await stack();
    await expect(startConsoleServer({ ...s, deviceTypes: BUILT_IN_DEVICE_TYPES, host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /token: required when binding to 0\.0\.0\.0/,
    );
    const url = await start({ token: TOKEN });
    for (const path of ['', 'api/snapshot', 'api/events', 'console.js', 'vendor/uPlot.iife.min.js'])
      expect((await fetch(`${url}${path}`)).status, path).toBe(401);
    expect((await post(`${url}api/alerts/${s.rootAlertId}/close`, {})).status).toBe(401);
    expect(await s.crm.getIoTAlert(s.rootAlertId)).toMatchObject({ state: AlertState.Active });
    expect((await fetch(`${url}api/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe('console page in chromium', () => {
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchTestBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    page = await browser.context.newPage();
  });
  afterEach(async () => {
    await page.close();
  });

  it('shows devices, the chart, grouped alerts; opening it with the token works and the token leaves the address bar', async () => {
    const url = await start({ token: TOKEN });
    await page.goto(`${url}?token=${TOKEN}`);
    expect(page.url()).toBe(url);
    await page.locator('#devices tbody tr').nth(1).waitFor();
    expect(await page.locator('#devices tbody tr').first().innerText()).toMatch(/thermostat-1[\s\S]*Online[\s\S]*Registered/);
    expect(await page.locator('#devices tbody tr').nth(1).innerText()).toMatch(/thermostat-2[\s\S]*Offline[\s\S]*Unregistered[\s\S]*Register/);
    await page.locator('#chart-temperature canvas').waitFor();
    await page.locator('#alerts tbody tr.root button.link').click();
    await page.locator('#alerts tbody tr.child').waitFor();
    await page.screenshot({ path: await screenshotPath('console-overview'), fullPage: true });
  });

  it('refuses bad input in the forms with a clear message and sends nothing', async () => {
    const url = await start();
    await page.goto(url);
    const root = page.locator(`#alerts tr[data-alert-id="${s.rootAlertId}"]`);
    await root.getByRole('button', { name: 'Send command…' }).click();
    const dialog = page.locator('#action-dialog');
    const message = dialog.locator('.message');
    const command = dialog.locator('input[name="commandName"]');

    await dialog.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => message.innerText()).toBe('commandName: required: choose a command');

    await command.fill('Self Destruct');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => message.innerText()).toContain('"Self Destruct" is not a command of Thermostat');

    await command.fill('Set Values');
    await dialog.locator('input[name="parameter:Reading.Temperature"]').fill('warm');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => message.innerText()).toBe('Parameters.Reading.Temperature: expected a number written as a string, e.g. "30"');
    await page.screenshot({ path: await screenshotPath('console-command-refused') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await root.getByRole('button', { name: 'Case…' }).click();
    await dialog.locator('input[name="title"]').fill('');
    await dialog.getByRole('button', { name: 'Create case' }).click();
    await expect.poll(() => message.innerText()).toBe('title: required: enter some text');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    expect(await s.crm.listCommands()).toEqual([]);
    expect(await s.crm.listCases()).toEqual([]);
  });

  it('sends Notification from the dialog, and registers a device with the Register button', async () => {
    const url = await start();
    await page.goto(url);
    await page.locator(`#alerts tr[data-alert-id="${s.rootAlertId}"]`).getByRole('button', { name: 'Send command…' }).click();
    const dialog = page.locator('#action-dialog');
    await dialog.locator('input[name="commandName"]').fill('Notification');
    await dialog.locator('input[name="parameter:Message"]').fill('Technician has been dispatched');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await page.locator('#commands tbody tr[data-state="requested"]').waitFor();
    expect(await page.locator('#commands tbody tr').first().innerText()).toContain('Technician has been dispatched');
    expect(await page.locator(`#alerts tr[data-alert-id="${s.rootAlertId}"]`).innerText()).toContain('In Progress – Command Sent');

    await page.locator('#devices tr[data-device-id="thermostat-2"]').getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => page.locator('#devices tr[data-device-id="thermostat-2"]').innerText()).toContain('Registered');
    expect(await s.crm.getDevice('dev-2')).toMatchObject({ registrationStatus: RegistrationStatus.Registered });
  });
});
