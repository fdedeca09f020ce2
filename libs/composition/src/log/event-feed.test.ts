import type { LogFields } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { EventFeed, type FeedEvent } from './event-feed.js';

describe('EventFeed', () => {
  it('writes every event to the terminal log and to every subscriber, until it unsubscribes', () => {
    const terminal: Array<[string, string, LogFields | undefined]> = [];
    const feed = new EventFeed(
      {
        info: (e, f) => void terminal.push(['info', e, f]),
        warn: (e, f) => void terminal.push(['warn', e, f]),
        error: (e, f) => void terminal.push(['error', e, f]),
      },
      { now: () => 5 },
    );
    const a: FeedEvent[] = [];
    const b: FeedEvent[] = [];
    const stopA = feed.subscribe((e) => a.push(e));
    feed.subscribe((e) => b.push(e));
    feed.info('alert.raised', { correlationId: 'c1' });
    stopA();
    feed.warn('queue.message-abandoned');
    expect(terminal).toEqual([
      ['info', 'alert.raised', { correlationId: 'c1' }],
      ['warn', 'queue.message-abandoned', {}],
    ]);
    expect(a).toEqual([{ seq: 1, time: 5, level: 'info', event: 'alert.raised', fields: { correlationId: 'c1' } }]);
    expect(b.map((e) => [e.seq, e.event])).toEqual([
      [1, 'alert.raised'],
      [2, 'queue.message-abandoned'],
    ]);
  });

  it('keeps delivering to the others when one subscriber throws, and counts it', () => {
    const feed = new EventFeed();
    const got: string[] = [];
    feed.subscribe(() => {
      throw new Error('browser went away');
    });
    feed.subscribe((e) => got.push(e.event));
    feed.error('x');
    expect(got).toEqual(['x']);
    expect(feed.listenerFailures).toBe(1);
  });

  it('keeps the last events for a subscriber that joins late', () => {
    const feed = new EventFeed(undefined, { keep: 2 });
    feed.info('a');
    feed.info('b');
    feed.info('c');
    expect(feed.recent().map((e) => e.event)).toEqual(['b', 'c']);
  });
});
