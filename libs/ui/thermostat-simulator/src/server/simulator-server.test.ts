import type { DeviceClientPort, DeviceConnection } from '@fieldlink/ports';
import type { WebServerHandle } from '@fieldlink/ui-web-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ThermostatFleet } from '../fleet/thermostat-fleet.js';
import { startSimulatorServer, type SimulatorServerOptions } from './simulator-server.js';

/** Devices that connect and send into a list: enough to watch the server drive the fleet. */
const recordingClient = (): DeviceClientPort & { sent: string[] } => {
  const sent: string[] = [];
  return {
    sent,
    connect: async (deviceId: string): Promise<DeviceConnection> => ({
      deviceId,
      sendTelemetry: async (body) => void sent.push(new TextDecoder().decode(body)),
      onCloudToDeviceMessage: () => undefined,
      reportProperties: async () => undefined,
      close: async () => undefined,
    }),
  };
};

const TOKEN = 'a-token-of-sixteen-chars';
let server: WebServerHandle | undefined;
let fleet: ThermostatFleet;

afterEach(async () => {
  await server?.close();
  server = undefined;
  await fleet?.close();
});

async function start(options: Pick<SimulatorServerOptions, 'token' | 'prepareDevice'> = {}): Promise<string> {
  fleet = new ThermostatFleet({ deviceClient: recordingClient(), heartbeatIntervalMs: 0 });
  await fleet.addDevice('thermostat-1');
  server = await startSimulatorServer({ fleet, port: 0, ...options });
  return server.url;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('simulator server', () => {
  it('binds 127.0.0.1 by default and serves the page and the fleet', async () => {
    const url = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Thermostat Simulator');
    const fleetBody = (await (await fetch(`${url}api/fleet`)).json()) as { devices: Array<{ deviceId: string; temperature: number }> };
    expect(fleetBody.devices.map((d) => d.deviceId)).toEqual(['thermostat-1']);
  });

  it('nudges, drifts, pauses, adds and removes through the API', async () => {
    const url = await start();
    const before = fleet.get('thermostat-1')!.temperature;
    expect((await post(`${url}api/devices/thermostat-1/nudge`, { degrees: '12.5' })).status).toBe(200);
    expect(fleet.get('thermostat-1')!.temperature).toBeCloseTo(before + 12.5, 5);
    expect((await post(`${url}api/devices/thermostat-1/drift`, { perMinute: 2 })).status).toBe(200);
    expect(fleet.get('thermostat-1')!.driftPerMinute).toBe(2);
    expect((await post(`${url}api/devices/thermostat-1/pause`, { paused: true })).status).toBe(200);
    expect(fleet.get('thermostat-1')!.paused).toBe(true);
    expect((await post(`${url}api/devices`, { deviceId: 'thermostat-2', temperature: '75' })).status).toBe(200);
    expect(fleet.get('thermostat-2')).toMatchObject({ temperature: 75, target: 75, connection: 'connected' });
    expect((await post(`${url}api/devices/thermostat-2/remove`, {})).status).toBe(200);
    expect(fleet.get('thermostat-2')).toBeUndefined();
  });

  it('refuses bad input with the field and the reason, and changes nothing', async () => {
    const url = await start();
    const before = fleet.get('thermostat-1')!;
    const nudge = await post(`${url}api/devices/thermostat-1/nudge`, { degrees: 'warmer' });
    expect(nudge.status).toBe(400);
    expect(await nudge.json()).toEqual({ ok: false, issues: [{ path: 'degrees', message: 'expected a number, got "warmer"' }] });
    const empty = await post(`${url}api/devices`, { deviceId: '  ', humidity: '140' });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toEqual(['deviceId', 'humidity']);
    expect((await post(`${url}api/devices/%E0%A4%A/drift`, { perMinute: 1 })).status).toBe(400);
    const unknown = await post(`${url}api/devices/nobody/drift`, { perMinute: 1 });
    expect(unknown.status).toBe(404);
    const duplicate = await post(`${url}api/devices`, { deviceId: 'thermostat-1' });
    expect(await duplicate.json()).toEqual({ ok: false, issues: [{ path: 'deviceId', message: '"thermostat-1" is in the fleet already' }] });
    expect(fleet.get('thermostat-1')).toEqual(before);
    expect(fleet.size).toBe(1);
    const notJson = await fetch(`${url}api/devices`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'deviceId=x' });
    expect(notJson.status).toBe(415);
  });

  it('prepares a device added on the page before it connects, and refuses it with the reason (409, not added) when preparing fails; an id the fleet refuses is never prepared', async () => {
    const prepared: string[] = [];
    const url = await start({
      prepareDevice: async (deviceId) => (
        prepared.push(deviceId),
        deviceId === 'refused-1'
          ? { ok: false, error: { code: 'RegistrationRefused', message: 'the hub refused to register it: quota' } }
          : { ok: true, value: undefined }
      ),
    });
    expect((await post(`${url}api/devices`, { deviceId: 'thermostat-9' })).status).toBe(200);
    expect(fleet.get('thermostat-9')).toBeDefined();
    const refused = await post(`${url}api/devices`, { deviceId: 'refused-1' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({
      ok: false,
      issues: [{ path: 'deviceId', message: '"refused-1" cannot be added: the hub refused to register it: quota' }],
    });
    expect(fleet.get('refused-1')).toBeUndefined();
    expect((await post(`${url}api/devices`, { deviceId: 'not a hub id' })).status).toBe(400);
    expect((await post(`${url}api/devices`, { deviceId: 'thermostat-1' })).status).toBe(400);
    expect(prepared).toEqual(['thermostat-9', 'refused-1']);
  });

  it('pushes fleet changes on the live stream', async () => {
    const url = await start();
    const response = await fetch(`${url}api/events`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    fleet.nudge('thermostat-1', 20);
    let text = '';
    while (!text.includes('event: fleet')) text += new TextDecoder().decode((await reader.read()).value);
    const data = /event: fleet\ndata: (.*)\n/.exec(text)![1]!;
    expect(JSON.parse(data)).toMatchObject({ changed: [{ deviceId: 'thermostat-1', temperature: fleet.get('thermostat-1')!.temperature }], removed: [] });
    await reader.cancel();
  });
});

describe('the token rule', () => {
  it('refuses to start on a non-loopback address without a token, naming the setting', async () => {
    fleet = new ThermostatFleet({ deviceClient: recordingClient() });
    await expect(startSimulatorServer({ fleet, host: '0.0.0.0', port: 0 })).rejects.toThrow(/token: required when binding to 0\.0\.0\.0/);
    await expect(startSimulatorServer({ fleet, port: 0, token: 'short' })).rejects.toThrow(/token: expected at least 16 characters/);
  });

  it('checks the token on every request and on the live stream', async () => {
    const url = await start({ token: TOKEN });
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${url}api/fleet`)).status).toBe(401);
    expect((await fetch(`${url}api/events`)).status).toBe(401);
    expect((await post(`${url}api/devices/thermostat-1/nudge`, { degrees: 5 })).status).toBe(401);
    expect((await fetch(`${url}api/fleet`, { headers: { authorization: 'Bearer wrong-token-of-length' } })).status).toBe(401);
    expect((await fetch(`${url}api/fleet`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const opened = await fetch(`${url}?token=${TOKEN}`, { redirect: 'manual' });
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/');
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${url}api/fleet`, { headers: { cookie } })).status).toBe(200);
    const body = await (await fetch(`${url}api/fleet`)).text();
    expect(body).not.toContain(TOKEN);
  });

  it('answers only to a loopback host name when bound to loopback', async () => {
    const url = await start();
    const { port } = new URL(url);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/api/fleet', headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(421);
  });
});
