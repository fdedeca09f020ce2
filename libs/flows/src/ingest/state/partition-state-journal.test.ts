import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, InMemoryRuleStateStore, InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import { loadRuleSet, THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { silentLog, type LogPort, type TelemetryEnvelope } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { CfsRuleEvaluator, RulesEngineEvaluator, type RuleEvaluator } from '../rule-evaluator.js';
import { TelemetryIngest } from '../telemetry-ingest.js';
import { PartitionStateJournal } from './partition-state-journal.js';

const T = Date.parse('2026-11-28T09:15:00.000Z');
const reading = (n: number, deviceId = `thermostat-${n}`, partitionId = '0'): TelemetryEnvelope => ({
  body: new TextEncoder().encode(JSON.stringify({ DeviceID: deviceId, Temperature: 60, Humidity: 40, EventToken: `e${n}` })),
  connectionDeviceId: deviceId,
  enqueuedTime: T + n * 1_000,
  partitionId,
  sequenceNumber: n,
});

const recordingLog = () => {
  const lines: Array<{ level: string; event: string; fields: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, event, fields });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') } as LogPort, lines };
};

const setup = (storage: Map<string, Uint8Array>, maxJournalEntries?: number) => {
  const { log, lines } = recordingLog();
  const ingest = new TelemetryIngest({
    referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
    alertsQueue: new InMemoryQueue('alerts'),
    rejected: new InMemoryRejectedTelemetry(),
    statusStore: new InMemoryStatusStore(),
    ruleStateStore: new InMemoryRuleStateStore(storage),
    log,
    defaultDeviceType: 'Thermostat',
    commitIntervalMs: 0,
    ...(maxJournalEntries === undefined ? {} : { maxJournalEntries }),
  });
  return { ingest, lines };
};

const stored = (storage: Map<string, Uint8Array>, key: string): Record<string, unknown> =>
  JSON.parse(new TextDecoder().decode(storage.get(key) ?? new TextEncoder().encode('null'))) as Record<string, unknown>;
const put = (storage: Map<string, Uint8Array>, key: string, value: unknown): void => void storage.set(key, new TextEncoder().encode(JSON.stringify(value)));

describe('PartitionStateJournal (through TelemetryIngest)', () => {
  it('writes a checkpoint for a new partition, then per batch an entry of only what that batch changed', async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    await ingest.handleBatch([reading(0), reading(1)]);
    await ingest.handleBatch([reading(2)]);
    await ingest.handleBatch([reading(3)]);
    const checkpoint = stored(storage, 'telemetry-ingest/0');
    expect(checkpoint).toMatchObject({ format: 'fieldlink.telemetry-ingest/4', lastSequence: 1, parts: 1, rules: [] });
    expect(Object.keys(checkpoint['lastReadings'] as object)).toEqual(['thermostat-0', 'thermostat-1']);
    const second = stored(storage, 'telemetry-ingest/0/journal/1');
    expect(second).toMatchObject({
      format: 'fieldlink.telemetry-ingest.journal/2',
      epoch: checkpoint['epoch'],
      index: 1,
      lastSequence: 3,
      lastReadings: { 'thermostat-3': { Temperature: 60, Humidity: 40 } },
    });
    expect((second['aggregates'] as { windows: Array<{ deviceId: string }> }).windows.map((w) => w.deviceId)).toEqual(['thermostat-3', 'thermostat-3']);
    expect([...storage.keys()].sort()).toEqual(['telemetry-ingest/0', 'telemetry-ingest/0/journal/0', 'telemetry-ingest/0/journal/1']);
  });

  it('writes a checkpoint instead of an entry once the journal holds maxJournalEntries, and a restore ends at an entry of an earlier checkpoint', async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage, 2);
    for (let n = 0; n < 4; n++) await ingest.handleBatch([reading(n)]); // checkpoint A, entries 0 and 1 of A, checkpoint B
    await ingest.handleBatch([reading(4)]); // entry 0 of B; slot 1 still holds A's entry 1
    const checkpoint = stored(storage, 'telemetry-ingest/0');
    expect(checkpoint).toMatchObject({ lastSequence: 3 });
    expect(stored(storage, 'telemetry-ingest/0/journal/1')).toMatchObject({ lastSequence: 2 });
    expect(stored(storage, 'telemetry-ingest/0/journal/1')['epoch']).not.toBe(checkpoint['epoch']);

    const restarted = setup(storage, 2);
    expect(await restarted.ingest.ingestBatch([reading(4), reading(5)])).toMatchObject({ skipped: 1 });
    expect(restarted.lines).toContainEqual({ level: 'info', event: 'ingest.state-restored', fields: { partitionId: '0', lastSequence: 4, journalEntries: 1 } });
  });

  it('writes a checkpoint once the entries since the last one hold as many records as it does', async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    // 400 devices: a checkpoint of 1,200 records (two windows and last readings each).
    await ingest.handleBatch(Array.from({ length: 400 }, (_, n) => ({ ...reading(n), enqueuedTime: T })));
    const first = stored(storage, 'telemetry-ingest/0')['epoch'];
    for (let n = 400; n < 800; n += 100)
      await ingest.handleBatch(Array.from({ length: 100 }, (_, i) => ({ ...reading(n + i, `thermostat-${i}`), enqueuedTime: T })));
    expect(stored(storage, 'telemetry-ingest/0')['epoch']).toBe(first); // 4 entries of 300 records: 1,200, not yet more
    await ingest.handleBatch([{ ...reading(800, 'thermostat-0'), enqueuedTime: T }]);
    expect(stored(storage, 'telemetry-ingest/0')).toMatchObject({ lastSequence: 800 });
    expect(stored(storage, 'telemetry-ingest/0')['epoch']).not.toBe(first);
  });

  it('starts fresh, saying so, when an entry of the checkpoint cannot be read', async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    await ingest.handleBatch([reading(0)]);
    await ingest.handleBatch([reading(1)]);
    put(storage, 'telemetry-ingest/0/journal/0', {
      ...stored(storage, 'telemetry-ingest/0/journal/0'),
      lastReadings: { 'thermostat-1': { Temperature: 'hot' } },
    });
    const restarted = setup(storage);
    expect(await restarted.ingest.ingestBatch([reading(0)])).toMatchObject({ skipped: 0 });
    expect(restarted.lines).toContainEqual({
      level: 'error',
      event: 'ingest.state-unreadable',
      fields: {
        partitionId: '0',
        key: 'telemetry-ingest/0/journal/0',
        code: 'StoredStateCorrupt',
        reason: expect.stringContaining('lastReadings.thermostat-1.Temperature'),
      },
    });
  });

  it('restores the whole state saved by earlier versions after every batch, and writes a checkpoint before any entry', async () => {
    const storage = new Map<string, Uint8Array>();
    const earlier = {
      format: 'fieldlink.telemetry-ingest/1',
      evaluator: 'cfs',
      lastSequence: 7,
      latestTime: T,
      rules: { lastAlertAt: [] },
      aggregates: { closedThrough: null, windows: [] },
      lastReadings: { 'thermostat-1': { Humidity: 41 } },
    };
    put(storage, 'telemetry-ingest/0', earlier);
    const { ingest } = setup(storage);
    expect(
      await ingest.ingestBatch([
        reading(7),
        { ...reading(8, 'thermostat-1'), body: new TextEncoder().encode('{"DeviceID":"thermostat-1","Temperature":61,"EventToken":"x"}') },
      ]),
    ).toMatchObject({ skipped: 1 });
    expect(stored(storage, 'telemetry-ingest/0')).toMatchObject({
      format: 'fieldlink.telemetry-ingest/4',
      lastSequence: 8,
      lastReadings: { 'thermostat-1': { Humidity: 41, Temperature: 61 } },
    });
    expect(storage.has('telemetry-ingest/0/journal/0')).toBe(false);
  });

  it('writes a state of more than 500 windows or devices in parts, its own key last, and restores it whole', async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    // 600 devices, two windows each: a checkpoint of 1,200 windows and 600 devices, in three parts.
    await ingest.handleBatch(Array.from({ length: 600 }, (_, n) => ({ ...reading(n), enqueuedTime: T })));
    const checkpoint = stored(storage, 'telemetry-ingest/0');
    expect(checkpoint).toMatchObject({ parts: 3, slot: 1 });
    expect(stored(storage, 'telemetry-ingest/0/part/1/2')).toMatchObject({ format: 'fieldlink.telemetry-ingest.part/1', epoch: checkpoint['epoch'], part: 2 });
    const restarted = setup(storage);
    expect(
      await restarted.ingest.ingestBatch([
        { ...reading(599), enqueuedTime: T },
        { ...reading(600, 'thermostat-599'), enqueuedTime: T },
      ]),
    ).toMatchObject({ skipped: 1 });
    await restarted.ingest.flush();
    const again = stored(storage, 'telemetry-ingest/0/journal/0');
    expect((again['aggregates'] as { windows: Array<{ deviceId: string; count: number }> }).windows).toEqual(
      expect.arrayContaining([expect.objectContaining({ deviceId: 'thermostat-599', readingType: 'Temperature', count: 2 })]),
    );
  });

  it("stores a CFS checkpoint's suppression memory in pieces of up to 500 keys, in its parts and its key, and restores it: what suppressed before the restart suppresses after", async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    const over = (n: number, deviceId = `thermostat-${n}`, temperature = 80): TelemetryEnvelope => ({
      ...reading(n, deviceId),
      enqueuedTime: T,
      body: new TextEncoder().encode(JSON.stringify({ DeviceID: deviceId, Temperature: temperature, Humidity: 40, EventToken: `e${n}` })),
    });
    // 600 devices over the threshold: 600 suppression keys, in pieces of 500 and 100.
    expect((await ingest.ingestBatch(Array.from({ length: 600 }, (_, n) => over(n)))).alerts).toHaveLength(600);
    const checkpoint = stored(storage, 'telemetry-ingest/0');
    const whole = new Map(storage);
    expect(checkpoint).toMatchObject({ format: 'fieldlink.telemetry-ingest/4', parts: 3 });
    const pieces = [1, 2].map((k) => stored(storage, `telemetry-ingest/0/part/1/${k}`)['rules'] as unknown[] | undefined);
    expect([...pieces.map((p) => p?.length), (checkpoint['rules'] as unknown[]).length]).toEqual([500, 100, 0]);
    const keys = [...pieces, checkpoint['rules'] as unknown[]].flatMap((p) => (p ?? []).map((e) => (e as [string, number])[0]));
    expect(new Set(keys).size).toBe(600);

    // After a restart the same readings are suppressed (within the minute), a new value is not.
    const restarted = setup(storage);
    const again = await restarted.ingest.ingestBatch([over(600, 'thermostat-0'), over(601, 'thermostat-599'), over(602, 'thermostat-7', 81)]);
    expect(again.alerts.map((a) => a.deviceId)).toEqual(['thermostat-7']);

    // A checkpoint written whole in its key (format 3, before pieces) still restores the same.
    put(whole, 'telemetry-ingest/0', {
      ...checkpoint,
      format: 'fieldlink.telemetry-ingest/3',
      rules: { lastAlertAt: [...pieces, checkpoint['rules'] as unknown[]].flatMap((p) => p ?? []) },
    });
    for (const k of [1, 2]) {
      const { rules: _, ...part } = stored(whole, `telemetry-ingest/0/part/1/${k}`);
      put(whole, `telemetry-ingest/0/part/1/${k}`, part);
    }
    const fromWhole = setup(whole);
    const afterWhole = await fromWhole.ingest.ingestBatch([over(600, 'thermostat-0'), over(601, 'thermostat-599'), over(602, 'thermostat-7', 81)]);
    expect(afterWhole.alerts.map((a) => a.deviceId)).toEqual(['thermostat-7']);
  });

  it('never reads the parts of a write that did not finish: the state in force stays the one its key names', async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    await ingest.handleBatch(Array.from({ length: 600 }, (_, n) => ({ ...reading(n), enqueuedTime: T })));
    // A later checkpoint whose parts were written and whose key was not: they went to the other slot.
    for (const key of [...storage.keys()].filter((k) => k.startsWith('telemetry-ingest/0/part/1/')))
      put(storage, key.replace('/part/1/', '/part/0/'), { ...stored(storage, key), epoch: 'unfinished' });
    // An entry's part left behind by an unfinished write of entry 0.
    put(storage, 'telemetry-ingest/0/journal/0/part/1', {
      format: 'fieldlink.telemetry-ingest.part/1',
      epoch: 'unfinished',
      index: 0,
      part: 1,
      windows: [],
      lastReadings: {},
      lastActivity: {},
    });
    const restarted = setup(storage);
    expect(await restarted.ingest.ingestBatch([{ ...reading(599), enqueuedTime: T }])).toMatchObject({ skipped: 1 });
    expect(restarted.lines).toContainEqual({
      level: 'info',
      event: 'ingest.state-restored',
      fields: { partitionId: '0', lastSequence: 599, journalEntries: 0 },
    });
    // A part that does not carry the checkpoint's epoch makes the state unreadable, said so, rather than wrong.
    put(storage, 'telemetry-ingest/0/part/1/1', { ...stored(storage, 'telemetry-ingest/0/part/1/1'), epoch: 'another' });
    const broken = setup(storage);
    await broken.ingest.ingestBatch([{ ...reading(599), enqueuedTime: T }]);
    expect(broken.lines).toContainEqual({
      level: 'error',
      event: 'ingest.state-unreadable',
      fields: { partitionId: '0', key: 'telemetry-ingest/0/part/1/1', code: 'StoredStateCorrupt', reason: expect.stringContaining('epoch: expected') },
    });
  });

  it('restores a checkpoint and entries written in one key each, as earlier versions did', async () => {
    const storage = new Map<string, Uint8Array>();
    const window = (deviceId: string, count: number) => ({
      deviceId,
      readingType: 'Temperature',
      windowEnd: T + 60_000,
      count,
      min: 60,
      max: 60,
      sum: 60 * count,
    });
    put(storage, 'telemetry-ingest/0', {
      format: 'fieldlink.telemetry-ingest/2',
      evaluator: 'cfs',
      epoch: 'e',
      lastSequence: 3,
      latestTime: T + 1_000,
      rules: { lastAlertAt: [] },
      aggregates: { closedThrough: null, windows: [window('thermostat-1', 2)] },
      lastReadings: { 'thermostat-1': { Temperature: 60 } },
    });
    put(storage, 'telemetry-ingest/0/journal/0', {
      format: 'fieldlink.telemetry-ingest.journal/1',
      evaluator: 'cfs',
      epoch: 'e',
      index: 0,
      lastSequence: 4,
      latestTime: T + 2_000,
      rules: { set: [], removed: [] },
      aggregates: { closedThrough: null, windows: [window('thermostat-1', 3)] },
      lastReadings: { 'thermostat-1': { Temperature: 60 } },
    });
    const { ingest } = setup(storage);
    expect(
      await ingest.ingestBatch([
        { ...reading(4, 'thermostat-1'), enqueuedTime: T + 2_000 },
        { ...reading(5, 'thermostat-1'), enqueuedTime: T + 3_000 },
      ]),
    ).toMatchObject({ skipped: 1 });
    expect((stored(storage, 'telemetry-ingest/0/journal/1')['aggregates'] as { windows: unknown[] }).windows).toContainEqual(
      expect.objectContaining({ deviceId: 'thermostat-1', readingType: 'Temperature', count: 4 }),
    );
  });
});

describe('PartitionStateJournal.read: every stored blob validated on read', () => {
  const journalOf = (storage: Map<string, Uint8Array>, evaluator: RuleEvaluator<unknown> = new CfsRuleEvaluator()) =>
    new PartitionStateJournal(new InMemoryRuleStateStore(storage), evaluator, silentLog, 'telemetry-ingest');
  /** A stored checkpoint and one journal entry, written by the real ingest. */
  const written = async (): Promise<Map<string, Uint8Array>> => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    await ingest.handleBatch([reading(0)]);
    await ingest.handleBatch([reading(1)]);
    return storage;
  };
  const corrupt = (storage: Map<string, Uint8Array>, key: string, change: (blob: Record<string, unknown>) => Record<string, unknown>) =>
    put(storage, key, change(stored(storage, key)));

  it('reads back what the ingest wrote', async () => {
    const read = await journalOf(await written()).read('0');
    expect(read.ok && read.value?.lastSequence).toBe(1);
  });

  it('names the key and the field of a corrupt checkpoint: a window count that is not a number', async () => {
    const storage = await written();
    corrupt(storage, 'telemetry-ingest/0', (c) => ({
      ...c,
      aggregates: { closedThrough: null, windows: [{ ...(c['aggregates'] as { windows: object[] }).windows[0], count: 'three' }] },
    }));
    expect(await journalOf(storage).read('0')).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'StoredStateCorrupt',
        key: 'telemetry-ingest/0',
        issues: [expect.objectContaining({ path: 'aggregates.windows.0.count' })],
      }),
    });
  });

  it('names a checkpoint of an unknown format, and one without a position', async () => {
    const storage = await written();
    corrupt(storage, 'telemetry-ingest/0', (c) => ({ ...c, format: 'fieldlink.telemetry-ingest/9' }));
    const unknown = await journalOf(storage).read('0');
    expect(!unknown.ok && unknown.error.issues.map((i) => i.path)).toEqual(['format']);
    corrupt(storage, 'telemetry-ingest/0', (c) => ({ ...c, format: 'fieldlink.telemetry-ingest/3', lastSequence: undefined }));
    const unpositioned = await journalOf(storage).read('0');
    expect(!unpositioned.ok && unpositioned.error.issues.map((i) => i.path)).toEqual(['lastSequence']);
  });

  it('names a corrupt journal entry by its key: a device time that is not a number', async () => {
    const storage = await written();
    corrupt(storage, 'telemetry-ingest/0/journal/0', (e) => ({ ...e, lastActivity: { 'thermostat-1': 'yesterday' } }));
    const read = await journalOf(storage).read('0');
    expect(!read.ok && [read.error.key, read.error.issues.map((i) => i.path)]).toEqual(['telemetry-ingest/0/journal/0', ['lastActivity.thermostat-1']]);
    expect(!read.ok && read.error.message).toMatch(/^telemetry-ingest\/0\/journal\/0: lastActivity\.thermostat-1: /);
  });

  it('names corrupt CFS rule state inside a checkpoint and inside an entry', async () => {
    const storage = await written();
    corrupt(storage, 'telemetry-ingest/0', (c) => ({ ...c, rules: [['thermostat-0|Temperature|86', 'noon']] }));
    const checkpoint = await journalOf(storage).read('0');
    expect(!checkpoint.ok && checkpoint.error.issues.map((i) => i.path)).toEqual(['rules.lastAlertAt.0.1']);
    corrupt(storage, 'telemetry-ingest/0', (c) => ({ ...c, rules: { lastAlertAt: [] } }));
    const whole = await journalOf(storage).read('0');
    expect(!whole.ok && [whole.error.key, whole.error.issues.map((i) => `${i.path}: ${i.message}`)]).toEqual([
      'telemetry-ingest/0',
      ['rules: expected an array: the piece of rule state the key holds'],
    ]);
    const again = await written();
    corrupt(again, 'telemetry-ingest/0/journal/0', (e) => ({ ...e, rules: { set: [], removed: [7] } }));
    const entry = await journalOf(again).read('0');
    expect(!entry.ok && [entry.error.key, entry.error.issues.map((i) => i.path)]).toEqual(['telemetry-ingest/0/journal/0', ['rules.removed.0']]);
  });

  it('names corrupt rules engine state, and state written by another rules engine', async () => {
    const ruleSet = loadRuleSet({
      version: 1,
      rules: [
        {
          id: 'hot',
          kind: 'threshold',
          scope: { deviceType: 'Thermostat' },
          reading: 'Temperature',
          condition: { operator: '>', value: 70 },
          severity: 'major',
        },
      ],
    });
    if (!ruleSet.ok) throw new Error(JSON.stringify(ruleSet.error));
    const storage = new Map<string, Uint8Array>();
    put(storage, 'telemetry-ingest/0', {
      format: 'fieldlink.telemetry-ingest/3',
      evaluator: 'rules-engine',
      epoch: 'e',
      slot: 0,
      lastSequence: 1,
      latestTime: T,
      rules: { version: 1, clock: 'late', devices: [] },
      aggregates: { closedThrough: null, windows: [] },
      lastReadings: {},
    });
    const corruptEngine = await journalOf(storage, new RulesEngineEvaluator(ruleSet.value) as RuleEvaluator<unknown>).read('0');
    expect(!corruptEngine.ok && corruptEngine.error.issues.map((i) => i.path)).toEqual(['rules.clock']);
    const otherEngine = await journalOf(storage).read('0');
    expect(!otherEngine.ok && otherEngine.error.issues).toEqual([
      expect.objectContaining({ path: 'evaluator', message: expect.stringContaining('found "rules-engine"') }),
    ]);
  });

  it('names a corrupt part of a checkpoint written in parts', async () => {
    const storage = new Map<string, Uint8Array>();
    const { ingest } = setup(storage);
    await ingest.handleBatch(Array.from({ length: 600 }, (_, n) => ({ ...reading(n), enqueuedTime: T })));
    corrupt(storage, 'telemetry-ingest/0/part/1/2', (p) => ({ ...p, windows: 'none' }));
    const read = await journalOf(storage).read('0');
    expect(!read.ok && [read.error.key, read.error.issues.map((i) => i.path)]).toEqual(['telemetry-ingest/0/part/1/2', ['windows']]);
  });
});
