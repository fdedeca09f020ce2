import { EventEmitter } from 'node:events';
import device from 'azure-iot-device';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IotHubDeviceClient } from './iot-hub-device-client.js';
import { RECONNECT_BACKOFF } from './retry-policy.js';

const CONNECTION_STRING = 'HostName=hub.example;DeviceId=d1;SharedAccessKey=c2VjcmV0';

/** SDK clients as `Client.fromConnectionString` hands them out: every one after the first fails to open `failures` times; the opening attempts' times on the fake clock. */
function stubbedSdk(failures: number) {
  const clients: EventEmitter[] = [];
  const opensAt: number[] = [];
  vi.spyOn(device.Client, 'fromConnectionString').mockImplementation(() => {
    const index = clients.length;
    const client = Object.assign(new EventEmitter(), {
      setOptions: async () => undefined,
      open: async () => {
        if (index > 0) opensAt.push(Date.now());
        if (index > 0 && index <= failures) throw new Error('connect ECONNREFUSED');
        return {};
      },
      close: async () => ({}),
    });
    clients.push(client);
    return client as unknown as device.Client;
  });
  return { clients, opensAt };
}

describe('IotHubDeviceClient: replacing a client the SDK gave up on, with back-off', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('waits with full jitter under a ceiling doubling from 1 s to 10 s: at the top of the draw, 1, 2, 4, 8, 10, 10 s', async () => {
    vi.useFakeTimers();
    const { clients, opensAt } = stubbedSdk(5);
    const connection = await new IotHubDeviceClient({ connectionStringFor: () => CONNECTION_STRING, random: () => 0.999_999_9 }).connect('d1');
    const lostAt = Date.now();
    clients[0]!.emit('disconnect', {});
    await vi.advanceTimersByTimeAsync(60_000);
    const waits = opensAt.map((at, i) => at - (i === 0 ? lostAt : opensAt[i - 1]!));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(clients).toHaveLength(7);
    await connection.close();
  });

  it('keeps every wait within [0, min(10 s, 1 s * 2^attempt)] for any draw, and starts over after it reconnected', async () => {
    vi.useFakeTimers();
    const draws = [0, 0.5, 0.25, 0.75, 0.1, 0.9];
    let next = 0;
    const { clients, opensAt } = stubbedSdk(5);
    const connection = await new IotHubDeviceClient({ connectionStringFor: () => CONNECTION_STRING, random: () => draws[next++ % draws.length]! }).connect(
      'd1',
    );
    const lostAt = Date.now();
    clients[0]!.emit('disconnect', {});
    await vi.advanceTimersByTimeAsync(60_000);
    expect(opensAt).toHaveLength(6); // 5 failed, the 6th opened
    const waits = opensAt.map((at, i) => at - (i === 0 ? lostAt : opensAt[i - 1]!));
    waits.forEach((wait, attempt) => {
      const ceiling = Math.min(RECONNECT_BACKOFF.maxMs, RECONNECT_BACKOFF.baseMs * 2 ** attempt);
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(ceiling);
      expect(wait).toBe(Math.floor(draws[attempt]! * (ceiling + 1)));
    });
    // The replacement drops too: its back-off starts from the first ceiling (1 s) again.
    next = 1; // a draw of 0.5: 500 ms
    const secondLossAt = Date.now();
    clients.at(-1)!.emit('disconnect', {});
    await vi.advanceTimersByTimeAsync(1_000);
    expect(opensAt).toHaveLength(7);
    expect(opensAt.at(-1)! - secondLossAt).toBe(500);
    await connection.close();
  });

  it('replaces nothing once the connection is closed, whatever the back-off still had to wait', async () => {
    vi.useFakeTimers();
    const { clients, opensAt } = stubbedSdk(100);
    const connection = await new IotHubDeviceClient({ connectionStringFor: () => CONNECTION_STRING, random: () => 0.999_999_9 }).connect('d1');
    clients[0]!.emit('disconnect', {});
    await vi.advanceTimersByTimeAsync(3_500); // attempts at 1 s and 3 s
    expect(opensAt).toHaveLength(2);
    await connection.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(opensAt).toHaveLength(2);
  });
});
