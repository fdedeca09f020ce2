import { isRuleStateConflict, type QueueMessage } from '@fieldlink/ports';
import { messageQueueConformance, ruleStateStoreConformance, textOf, utf8 } from '@fieldlink/ports/testing';
import { describe, expect, it } from 'vitest';
import { sqliteTestFiles, TestClock } from './testing/sqlite-test-files.js';
import { openSqliteFile, type SqliteFile } from './sqlite-file.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteRuleStateStore } from './sqlite-rule-state-store.js';

const newFile = sqliteTestFiles('store');

messageQueueConformance('SqliteQueue', async (settings) => {
  const db = openSqliteFile(newFile());
  const clock = new TestClock(1_000_000);
  const queue = new SqliteQueue(db, 'conformance', { ...settings, clock });
  return {
    queue,
    advanceTime: async (ms) => clock.advance(ms),
    dispose: async () => {
      await queue.close();
      db.close();
    },
  };
});

ruleStateStoreConformance('SqliteRuleStateStore', async () => {
  const file = newFile();
  const opened: SqliteFile[] = [openSqliteFile(file)];
  return {
    store: new SqliteRuleStateStore(opened[0]!),
    reopen: async () => {
      const again = openSqliteFile(file);
      opened.push(again);
      return new SqliteRuleStateStore(again);
    },
    dispose: async () => {
      for (const db of opened) db.close();
    },
  };
});

const msg = (id: string): QueueMessage => ({ messageId: id, body: utf8(id), contentType: 'application/json' });

describe('SqliteQueue on a file', () => {
  it('keeps sent messages, locks and dead letters across a restart of the process (the file opened again)', async () => {
    const file = newFile();
    const clock = new TestClock(1_000_000);
    const first = openSqliteFile(file);
    const before = new SqliteQueue(first, 'alerts', { lockDurationMs: 5_000, clock });
    await before.send([msg('a'), msg('b'), msg('bad')]);
    const [, b, bad] = await before.receive({ maxMessages: 3, maxWaitMs: 0 });
    await before.deadLetter(bad!, { reason: 'InvalidMessage', description: 'body: is not JSON' });
    await before.abandon(b!);
    first.close(); // the process dies holding the lock on 'a'

    const again = openSqliteFile(file);
    const after = new SqliteQueue(again, 'alerts', { lockDurationMs: 5_000, clock });
    expect(after.activeCount).toBe(2);
    expect((await after.peekDeadLetters(10)).map((d) => [d.messageId, d.reason])).toEqual([['bad', 'InvalidMessage']]);
    clock.advance(5_001);
    const redelivered = await after.receive({ maxMessages: 10, maxWaitMs: 0 });
    expect(redelivered.map((m) => [m.messageId, m.deliveryCount])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    // The ids are remembered too: a re-sent alert after the restart is dropped as a duplicate.
    await after.send([msg('a')]);
    for (const m of redelivered) await after.complete(m);
    expect(after.activeCount).toBe(0);
    again.close();
  });

  it('never hands one message to two connections of the same file (two processes), and wakes a receiver of another connection', async () => {
    const file = newFile();
    const a = openSqliteFile(file);
    const b = openSqliteFile(file);
    const qa = new SqliteQueue(a, 'commands');
    const qb = new SqliteQueue(b, 'commands', { pollIntervalMs: 10 });
    const waiting = qb.receive({ maxMessages: 1, maxWaitMs: 5_000 });
    await qa.send([msg('first')]);
    expect((await waiting).map((m) => textOf(m.body))).toEqual(['first']);
    await qa.send(Array.from({ length: 40 }, (_, i) => msg(`m${i}`)));
    const taken: string[] = [];
    await Promise.all(
      [qa, qb, qa, qb].map(async (q) => {
        for (;;) {
          const got = await q.receive({ maxMessages: 3, maxWaitMs: 0 });
          if (got.length === 0) return;
          for (const m of got) {
            taken.push(m.messageId);
            await q.complete(m);
          }
        }
      }),
    );
    expect(taken.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`).sort());
    a.close();
    b.close();
  });
  it('finds the message ids to forget by their time through an index, in a file made before the index too, and still refuses a duplicate within the window', async () => {
    const file = newFile();
    const clock = new TestClock(1_000_000);
    const old = openSqliteFile(file);
    await new SqliteQueue(old, 'alerts', { clock }).close();
    // A file of an earlier version: the ids' table without the index.
    old.exec('drop index queue_seen_id_queue_time');
    old.close();
    const db = openSqliteFile(file);
    const queue = new SqliteQueue(db, 'alerts', { duplicateDetectionWindowMs: 60_000, clock });
    try {
      const columns = (db.pragma('index_info(queue_seen_id_queue_time)') as Array<{ name: string }>).map((c) => c.name);
      expect(columns).toEqual(['queue', 'seen_time']);
      await queue.send([msg('a')]);
      clock.advance(30_000);
      await queue.send([msg('a'), msg('b')]);
      clock.advance(31_000);
      // 'a' was seen 61 s ago, past the window; 'b' 31 s ago.
      await queue.send([msg('a'), msg('b')]);
      const received = await queue.receive({ maxMessages: 10, maxWaitMs: 0 });
      expect(received.map((m) => textOf(m.body))).toEqual(['a', 'b', 'a']);
    } finally {
      await queue.close();
      db.close();
    }
  });
});

describe('SqliteRuleStateStore', () => {
  /** Two stores over one file, each on a connection of its own, as two processes would open it. */
  function twoProcesses() {
    const file = newFile();
    const a = openSqliteFile(file);
    const b = openSqliteFile(file);
    return {
      mine: new SqliteRuleStateStore(a),
      theirs: new SqliteRuleStateStore(b),
      close: () => {
        a.close();
        b.close();
      },
    };
  }

  it('keeps JSON text given to saveJson as save keeps its parse, under the same conflict condition', async () => {
    const { mine, theirs, close } = twoProcesses();
    await mine.saveJson('ingest/0', JSON.stringify({ v: 1, note: 'Température' }));
    expect(await theirs.load('ingest/0')).toStrictEqual({ v: 1, note: 'Température' });
    await theirs.saveJson('ingest/0', '{"v":2}');
    await expect(mine.saveJson('ingest/0', '{"v":"stale"}')).rejects.toSatisfy(isRuleStateConflict);
    expect(await mine.load('ingest/0')).toStrictEqual({ v: 2 });
    close();
  });

  it('counts a loadJson as a read: refuses a save over another process’s change since, and takes one after the next', async () => {
    const { mine, theirs, close } = twoProcesses();
    expect(await mine.loadJson('ingest/0/journal/1')).toBeUndefined();
    await theirs.save('ingest/0/journal/1', { from: 'theirs' });
    await expect(mine.save('ingest/0/journal/1', { from: 'mine' })).rejects.toSatisfy(isRuleStateConflict);
    expect(await mine.loadJson('ingest/0/journal/1')).toBe('{"from":"theirs"}');
    await theirs.save('ingest/0/journal/1', { from: 'theirs again' });
    await expect(mine.saveJson('ingest/0/journal/1', '{"from":"mine"}')).rejects.toSatisfy(isRuleStateConflict);
    await mine.loadJson('ingest/0/journal/1');
    await mine.save('ingest/0/journal/1', { from: 'mine' });
    expect(await theirs.load('ingest/0/journal/1')).toEqual({ from: 'mine' });
    close();
  });

  it('refuses to overwrite what another process saved since it read the key (RuleStateConflict)', async () => {
    const { mine, theirs, close } = twoProcesses();
    await mine.save('ingest/0', { v: 1 });
    expect(await mine.load('ingest/0')).toEqual({ v: 1 });
    expect(await theirs.load('ingest/0')).toEqual({ v: 1 });
    await theirs.save('ingest/0', { v: 2 });
    await expect(mine.save('ingest/0', { v: 'stale' })).rejects.toSatisfy(isRuleStateConflict);
    expect(await mine.load('ingest/0')).toEqual({ v: 2 });
    await mine.save('ingest/0', { v: 3 });
    expect(await theirs.load('ingest/0')).toEqual({ v: 3 });
    close();
  });
});
