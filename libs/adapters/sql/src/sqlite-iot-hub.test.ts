import type { DeliveryFeedback, TelemetryEnvelope } from '@fieldlink/ports';
import {
  cloudToDeviceConformance,
  deviceClientConformance,
  deviceRegistryConformance,
  eventually,
  telemetryIntakeConformance,
  textOf,
  utf8,
} from '@fieldlink/ports/testing';
import { describe, expect, it, vi } from 'vitest';
import { sqliteTestFiles, TestClock } from './testing/sqlite-test-files.js';
import { openSqliteFile, type SqliteFile } from './sqlite-file.js';
import { SqliteIotHub, type SqliteIotHubOptions } from './sqlite-iot-hub.js';

const newFile = sqliteTestFiles('hub');

const FAST: SqliteIotHubOptions = { pollIntervalMs: 10, handlerRetryDelayMs: 5, feedbackRetryDelayMs: 5 };

/** A hub on a fresh file (`db` its connection); `other()` opens the same file again, as a second process would. */
function openHub(options: SqliteIotHubOptions = {}) {
  const file = newFile();
  const opened: Array<{ db: SqliteFile; hub: SqliteIotHub }> = [];
  const open = () => {
    const db = openSqliteFile(file);
    const hub = new SqliteIotHub(db, { ...FAST, ...options });
    opened.push({ db, hub });
    return hub;
  };
  const hub = open();
  return {
    hub,
    db: opened[0]!.db,
    file,
    other: open,
    dispose: async () => {
      for (const o of opened.reverse()) {
        await o.hub.close();
        o.db.close();
      }
    },
  };
}

deviceRegistryConformance('SqliteIotHub registry', async () => {
  const { hub, dispose } = openHub();
  return { registry: hub, dispose };
});

/** The cloud-to-device suite's subject: the hub sends, and the devices connect to `devicesOf` the file (the hub itself, or a second connection). */
function cloudToDeviceSubject(devicesOf: (hub: SqliteIotHub, other: () => SqliteIotHub) => SqliteIotHub) {
  return async () => {
    const clock = new TestClock(Date.parse('2026-11-28T09:00:00Z'));
    const { hub, other, dispose } = openHub({ clock });
    return {
      cloudToDevice: hub.cloudToDevice,
      devices: devicesOf(hub, other),
      maxDeliveryCount: 10,
      registerDevice: async (deviceId: string) => void (await hub.registerDevices([{ deviceId }])),
      advanceTime: async (ms: number) => {
        clock.advance(ms);
        hub.cloudToDevice.expireDue();
      },
      dispose,
      patienceMs: 5_000,
    };
  };
}

cloudToDeviceConformance(
  'SqliteIotHub cloud-to-device',
  cloudToDeviceSubject((hub) => hub),
);

deviceClientConformance('SqliteIotHub device client', async () => {
  const { hub, dispose } = openHub();
  return { devices: hub, registry: hub, telemetry: hub, consumerGroup: '$Default', dispose, patienceMs: 5_000 };
});

telemetryIntakeConformance('SqliteIotHub telemetry', async () => {
  const { hub, dispose } = openHub();
  return { intake: hub, devices: hub, consumerGroups: ['rules', 'telemetry'], dispose, patienceMs: 5_000 };
});

// The same suites, each side of the hub on its own connection to the file (as two processes): what one writes, the other finds by polling.
telemetryIntakeConformance('SqliteIotHub telemetry across two connections', async () => {
  const { other, dispose } = openHub();
  return { intake: other(), devices: other(), consumerGroups: ['rules', 'telemetry'], dispose, patienceMs: 5_000 };
});

cloudToDeviceConformance(
  'SqliteIotHub cloud-to-device across two connections',
  cloudToDeviceSubject((_hub, other) => other()),
);

describe('SqliteIotHub shared by two connections to one file (two processes)', () => {
  it('closes the command loop across them: one registers and sends a command, the other connects as the device, completes it and sends telemetry; feedback and telemetry come back', async () => {
    const { hub: cloud, other, dispose } = openHub();
    const device = other();
    try {
      await cloud.registerDevices([{ deviceId: 'thermostat-1', tags: { site: 'lobby' } }]);
      const telemetry: TelemetryEnvelope[] = [];
      const subscription = await cloud.subscribe('rules', async (batch) => void telemetry.push(...batch));
      const feedback: DeliveryFeedback[] = [];
      const feedbackSubscription = await cloud.cloudToDevice.subscribeFeedback(async (batch) => void feedback.push(...batch));
      const connection = await device.connect('thermostat-1');
      const received: string[] = [];
      connection.onCloudToDeviceMessage(async (m) => {
        received.push(textOf(m.body));
        await connection.sendTelemetry(utf8('{"DeviceID":"thermostat-1","Temperature":62}'));
        return 'complete';
      });
      await eventually(async () => expect(await cloud.connectedDeviceIds()).toContain('thermostat-1'));
      expect(await cloud.cloudToDevice.send({ messageId: 'm-1', deviceId: 'thermostat-1', body: utf8('{"CommandName":"Set Values"}') })).toEqual({
        ok: true,
        value: undefined,
      });
      await eventually(() => expect(feedback).toMatchObject([{ originalMessageId: 'm-1', status: 'Success', deviceId: 'thermostat-1' }]));
      await eventually(() => expect(telemetry.map((e) => e.connectionDeviceId)).toEqual(['thermostat-1']));
      expect(received).toEqual(['{"CommandName":"Set Values"}']);
      await connection.close();
      await eventually(async () => expect((await cloud.getTwin('thermostat-1'))?.connectionState).toBe('Disconnected'));
      await subscription.close();
      await feedbackSubscription.close();
    } finally {
      await dispose();
    }
  });

  it('wakes a reader of the file in another thread of the process at once, on a broadcast channel named for the file, not at its next poll', async () => {
    const file = newFile();
    // The same file spelt another way stands for another thread's hub: it shares nothing with the writer's in this thread but the channel.
    const elsewhere = file.replace(/([^/\\]+)$/, './$1');
    const writerDb = openSqliteFile(file);
    const readerDb = openSqliteFile(elsewhere);
    const writer = new SqliteIotHub(writerDb, { pollIntervalMs: 600_000 });
    const reader = new SqliteIotHub(readerDb, { pollIntervalMs: 600_000 });
    const got: string[] = [];
    const subscription = await reader.subscribe('rules', async (batch) => void got.push(...batch.map((e) => e.connectionDeviceId)));
    try {
      // The subscription's first read, as it starts, finds what was written before it.
      await writer.send('thermostat-0', utf8('{"Temperature":70}'));
      await eventually(() => expect(got).toEqual(['thermostat-0']), 5_000, 10);
      // Then only a wake (or a poll, ten minutes away) makes it read again.
      await writer.send('thermostat-1', utf8('{"Temperature":71}'));
      await writer.send('thermostat-2', utf8('{"Temperature":72}'));
      await eventually(() => expect(got).toEqual(['thermostat-0', 'thermostat-1', 'thermostat-2']), 5_000, 10);
    } finally {
      await subscription.close();
      await reader.close();
      await writer.close();
      readerDb.close();
      writerDb.close();
    }
  });

  it('keeps the stream, the checkpoints, the twins and undelivered commands when the file is opened again after the hub is gone (a restart)', async () => {
    const file = newFile();
    const first = openSqliteFile(file);
    const hub = new SqliteIotHub(first, FAST);
    await hub.registerDevices([{ deviceId: 'thermostat-2', desiredProperties: { TargetTemperature: 21 } }]);
    const seen: number[] = [];
    const s = await hub.subscribe('rules', async (batch) => void seen.push(...batch.map((e) => e.sequenceNumber)), { checkpoints: 'by-handler' });
    await hub.send('thermostat-2', utf8('{"n":0}'));
    await hub.send('thermostat-2', utf8('{"n":1}'));
    await eventually(() => expect(seen).toHaveLength(2));
    await hub.cloudToDevice.send({ messageId: 'kept', deviceId: 'thermostat-2', body: utf8('x') });
    await s.close();
    // No mark was given: everything is read again; then the process "dies" (the handle is dropped, not closed cleanly).
    first.close();
    const again = openSqliteFile(file);
    const restarted = new SqliteIotHub(again, FAST);
    try {
      const second: number[] = [];
      const s2 = await restarted.subscribe('rules', async (batch) => void second.push(...batch.map((e) => e.sequenceNumber)));
      await eventually(() => expect(second).toEqual(seen));
      await s2.close();
      expect(await restarted.getTwin('thermostat-2')).toMatchObject({ desired: { TargetTemperature: 21 } });
      expect(restarted.cloudToDevice.pendingCount('thermostat-2')).toBe(1);
      expect(restarted.uncheckpointed('rules')).toBe(0);
    } finally {
      await restarted.close();
      again.close();
    }
  });

  it('numbers a new hub file from firstSequenceNumber, and a file opened again keeps its partition count', async () => {
    const file = newFile();
    const db = openSqliteFile(file);
    const hub = new SqliteIotHub(db, { ...FAST, partitionCount: 2, firstSequenceNumber: 5_000 });
    const seen: number[] = [];
    const s = await hub.subscribe('rules', async (batch) => void seen.push(...batch.map((e) => e.sequenceNumber)));
    await hub.send('thermostat-1', utf8('{}'));
    await hub.send('thermostat-1', utf8('{}'));
    await eventually(() => expect(seen).toEqual([5_000, 5_001]));
    await s.close();
    await hub.close();
    db.close();
    const db2 = openSqliteFile(file);
    expect(new SqliteIotHub(db2, { partitionCount: 8 }).partitionCount).toBe(2);
    db2.close();
    expect(() => new SqliteIotHub(openSqliteFile(':memory:'), { firstSequenceNumber: -1 })).toThrow('firstSequenceNumber');
  });

  it('hands cloud-to-device messages only to the newest connection of a device, whichever process made it', async () => {
    const { hub, other, dispose } = openHub();
    try {
      await hub.registerDevices([{ deviceId: 'thermostat-4' }]);
      const older: string[] = [];
      const newer: string[] = [];
      (await other().connect('thermostat-4')).onCloudToDeviceMessage(async (m) => (older.push(m.messageId), 'complete'));
      (await hub.connect('thermostat-4')).onCloudToDeviceMessage(async (m) => (newer.push(m.messageId), 'complete'));
      for (const id of ['c-1', 'c-2', 'c-3']) await hub.cloudToDevice.send({ messageId: id, deviceId: 'thermostat-4', body: utf8(id) });
      await eventually(() => expect(newer).toEqual(['c-1', 'c-2', 'c-3']));
      expect(older).toEqual([]);
    } finally {
      await dispose();
    }
  });

  it('turns the devices of a process that died without closing its connection Disconnected once their lease runs out', async () => {
    const clock = new TestClock(Date.parse('2026-11-28T09:00:00Z'));
    const { hub, other, dispose } = openHub({ clock, connectionLeaseMs: 15_000 });
    try {
      await hub.registerDevices([{ deviceId: 'thermostat-3' }]);
      await other().connect('thermostat-3');
      expect(await hub.connectedDeviceIds()).toEqual(['thermostat-3']);
      clock.advance(16_000);
      expect(await hub.connectedDeviceIds()).toEqual([]);
      expect((await hub.getTwin('thermostat-3'))?.connectionState).toBe('Disconnected');
    } finally {
      await dispose();
    }
  });
});

describe('SqliteIotHub: the sends of one turn of the event loop', () => {
  /** Every event the consumer group reads from its start, as partition, sequence number, device and body. */
  async function readAll(hub: SqliteIotHub, consumerGroup: string, count: number) {
    const got: Array<{ partition: string; sequence: number; deviceId: string; body: string }> = [];
    const s = await hub.subscribe(consumerGroup, async (batch) => {
      for (const e of batch) got.push({ partition: e.partitionId, sequence: e.sequenceNumber, deviceId: e.connectionDeviceId, body: textOf(e.body) });
    });
    await eventually(() => expect(got).toHaveLength(count));
    await s.close();
    return got;
  }

  it('writes them in one transaction, in the order sent: each device in order, each partition numbered without a gap, the last activity that of the last send', async () => {
    const clock = new TestClock(Date.parse('2026-11-28T09:00:00Z'));
    const { hub, db, dispose } = openHub({ clock, partitionCount: 2 });
    try {
      const devices = ['thermostat-a', 'thermostat-b', 'thermostat-c'];
      await hub.registerDevices(devices.map((deviceId) => ({ deviceId })));
      // The consumer group exists before the sends (a new one starts at the end of the stream).
      await (await hub.subscribe('rules', async () => undefined)).close();
      const transactions = vi.spyOn(db, 'transaction');
      const sends: Array<Promise<void>> = [];
      for (let n = 0; n < 300; n++) {
        sends.push(hub.send(devices[n % 3]!, utf8(`{"n":${n}}`)));
        clock.advance(1);
      }
      await Promise.all(sends);
      expect(transactions).toHaveBeenCalledTimes(1);
      transactions.mockRestore();
      const got = await readAll(hub, 'rules', 300);
      for (const deviceId of devices) {
        const mine = got.filter((e) => e.deviceId === deviceId).map((e) => (JSON.parse(e.body) as { n: number }).n);
        expect(mine).toEqual(Array.from({ length: 100 }, (_, i) => devices.indexOf(deviceId) + 3 * i));
      }
      for (const partition of ['0', '1']) {
        const sequences = got.filter((e) => e.partition === partition).map((e) => e.sequence);
        expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i));
      }
      // thermostat-c sent last, at the 300th millisecond; thermostat-a at the 298th.
      expect((await hub.getTwin('thermostat-c'))?.lastActivityTime).toBe(Date.parse('2026-11-28T09:00:00Z') + 299);
      expect((await hub.getTwin('thermostat-a'))?.lastActivityTime).toBe(Date.parse('2026-11-28T09:00:00Z') + 297);
    } finally {
      await dispose();
    }
  });

  it('fails every send of a turn and writes none of them when their transaction cannot be written; the next turn is written', async () => {
    const { hub, db, file, dispose } = openHub();
    // Fail at once on a lock held elsewhere, rather than after the busy timeout.
    db.pragma('busy_timeout = 0');
    const other = openSqliteFile(file);
    try {
      await (await hub.subscribe('rules', async () => undefined)).close();
      // Another process is writing the file.
      other.exec('begin immediate');
      const refused = await Promise.allSettled([hub.send('thermostat-1', utf8('{"n":1}')), hub.send('thermostat-2', utf8('{"n":2}'))]);
      expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
      other.exec('commit');
      await hub.send('thermostat-3', utf8('{"n":3}'));
      expect(await readAll(hub, 'rules', 1)).toEqual([{ partition: expect.any(String), sequence: 0, deviceId: 'thermostat-3', body: '{"n":3}' }]);
      expect(hub.uncheckpointed('rules')).toBe(0);
    } finally {
      await dispose();
      other.close();
    }
  });

  it('keeps the body as it was when sent, and writes the sends made before a close', async () => {
    const { hub, other, dispose } = openHub();
    try {
      await (await hub.subscribe('rules', async () => undefined)).close();
      const body = utf8('{"Temperature":70}');
      const sent = hub.send('thermostat-1', body);
      // The sender reuses its buffer once send returned.
      body.fill(0x20);
      await hub.close();
      await expect(sent).resolves.toBeUndefined();
      // Read on a connection of its own: the send is in the file.
      expect(await readAll(other(), 'rules', 1)).toEqual([
        { partition: expect.any(String), sequence: 0, deviceId: 'thermostat-1', body: '{"Temperature":70}' },
      ]);
    } finally {
      await dispose();
    }
  });
});

describe("SqliteIotHub's indexes", () => {
  it('renews connections, expires messages and settles feedback through indexes, in a file made before them too', async () => {
    const { db, other, dispose } = openHub();
    try {
      // A file of an earlier version: without these indexes, each renewal read every device, each poll every message.
      for (const index of ['hub_device_connection', 'hub_c2d_expiry', 'hub_feedback_lock']) db.exec(`drop index ${index}`);
      // The hub opened on it again (on a connection of its own, which reads the schema it made).
      const again = other().file;
      const columns = (index: string) => (again.pragma(`index_info(${index})`) as Array<{ name: string }>).map((c) => c.name);
      expect(columns('hub_device_connection')).toEqual(['connection_id']);
      expect(columns('hub_c2d_expiry')).toEqual(['expires_at']);
      expect(columns('hub_feedback_lock')).toEqual(['lock_token']);
    } finally {
      await dispose();
    }
  });
});

describe("SqliteIotHub: the devices' cloud-to-device receivers", () => {
  it("of a process's idle devices look at the file together, once per poll, not once per device", async () => {
    const { hub, db, dispose } = openHub({ pollIntervalMs: 10 });
    try {
      const devices = Array.from({ length: 50 }, (_, i) => `thermostat-${i}`);
      await hub.registerDevices(devices.map((deviceId) => ({ deviceId })));
      for (const deviceId of devices) (await hub.connect(deviceId)).onCloudToDeviceMessage(async () => 'complete');
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Every statement run on any connection, for 200 ms: about 20 polls.
      const statement = Object.getPrototypeOf(db.prepare('select 1')) as { get: () => unknown; all: () => unknown[] };
      const gets = vi.spyOn(statement, 'get');
      const alls = vi.spyOn(statement, 'all');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const looks = gets.mock.calls.length + alls.mock.calls.length;
      gets.mockRestore();
      alls.mockRestore();
      // Two statements a poll (expired messages, devices with a message to take); a loop per device made two each.
      expect(looks).toBeGreaterThan(0);
      expect(looks).toBeLessThan(devices.length * 4);
    } finally {
      await dispose();
    }
  });

  it('look for a message without the write lock: idle receivers polling, and telemetry sent meanwhile, take it only for the sends', async () => {
    const { hub, db, dispose } = openHub({ pollIntervalMs: 10 });
    try {
      const devices = Array.from({ length: 20 }, (_, i) => `thermostat-${i}`);
      await hub.registerDevices(devices.map((deviceId) => ({ deviceId })));
      const received: string[] = [];
      for (const deviceId of devices) {
        const connection = await hub.connect(deviceId);
        connection.onCloudToDeviceMessage(async (m) => {
          received.push(`${deviceId}:${textOf(m.body)}`);
          return 'complete';
        });
      }
      const transactions = vi.spyOn(db, 'transaction');
      // Twenty receivers polling every 10 ms for 200 ms, and ten telemetry sends (each woke every receiver, which then
      // took the write lock twice to look at its queue and at expired messages).
      for (let n = 0; n < 10; n++) {
        await hub.send(devices[n]!, utf8(`{"n":${n}}`));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(transactions).toHaveBeenCalledTimes(10);
      transactions.mockRestore();
      // A message for one of them is still taken at once.
      await hub.cloudToDevice.send({ messageId: 'm-1', deviceId: 'thermostat-7', body: utf8('set') });
      await eventually(() => expect(received).toEqual(['thermostat-7:set']), 5_000, 5);
    } finally {
      await dispose();
    }
  });
});
