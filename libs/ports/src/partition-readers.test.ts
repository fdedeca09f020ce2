import { describe, expect, it } from 'vitest';
import { PartitionReaders } from './partition-readers.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('PartitionReaders', () => {
  it('reads each partition on its own: a read that waits holds back no other partition', async () => {
    const held = gate();
    const reads: string[] = [];
    const readers = new PartitionReaders(
      ['a', 'b'],
      async (p) => {
        reads.push(`${p} start`);
        if (p === 'a') await held.promise;
        reads.push(`${p} end`);
      },
      () => undefined,
    );
    readers.poke();
    await nextTurn();
    await nextTurn();
    expect(reads).toEqual(['a start', 'b start', 'b end']);
    held.open();
    await readers.close();
    expect(reads).toEqual(['a start', 'b start', 'b end', 'a end']);
  });

  it('starts nothing before the next turn of the event loop, then every partition together', async () => {
    const reads: string[] = [];
    const readers = new PartitionReaders(
      ['a', 'b', 'c'],
      async (p) => void reads.push(p),
      () => undefined,
    );
    readers.poke();
    readers.poke();
    expect(reads).toEqual([]);
    await nextTurn();
    expect(reads).toEqual(['a', 'b', 'c']);
    await readers.close();
  });

  it('reads a partition poked while it reads once more when that read ends, never two reads of it at once', async () => {
    let running = 0;
    let most = 0;
    let count = 0;
    const first = gate();
    const readers = new PartitionReaders(
      ['a'],
      async () => {
        running++;
        most = Math.max(most, running);
        count++;
        if (count === 1) await first.promise;
        running--;
      },
      () => undefined,
    );
    readers.poke();
    await nextTurn();
    readers.poke();
    readers.poke();
    await nextTurn();
    expect(count).toBe(1);
    first.open();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(count).toBe(2);
    expect(most).toBe(1);
    await readers.close();
  });

  it('reports a read that threw with its partition, and reads that partition again at the next poke', async () => {
    const errors: Array<[string, string]> = [];
    let fail = true;
    const reads: string[] = [];
    const readers = new PartitionReaders(
      ['a', 'b'],
      async (p) => {
        reads.push(p);
        if (p === 'a' && fail) throw new Error('log unreadable');
      },
      (e, p) => errors.push([e.message, p]),
    );
    readers.poke();
    await nextTurn();
    await nextTurn();
    expect(errors).toEqual([['log unreadable', 'a']]);
    fail = false;
    readers.poke();
    await nextTurn();
    await nextTurn();
    expect(reads).toEqual(['a', 'b', 'a', 'b']);
    expect(errors).toHaveLength(1);
    await readers.close();
  });

  it('starts no read once closed, and close waits for the reads running', async () => {
    const held = gate();
    const reads: string[] = [];
    const readers = new PartitionReaders(
      ['a'],
      async (p) => {
        reads.push(`${p} start`);
        await held.promise;
        reads.push(`${p} end`);
      },
      () => undefined,
    );
    readers.poke();
    await nextTurn();
    const closing = readers.close();
    readers.poke();
    let closed = false;
    void closing.then(() => (closed = true));
    await nextTurn();
    expect(closed).toBe(false);
    held.open();
    await closing;
    await nextTurn();
    expect(reads).toEqual(['a start', 'a end']);
  });
});
