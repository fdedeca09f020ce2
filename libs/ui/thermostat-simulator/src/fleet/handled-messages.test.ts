import { describe, expect, it } from 'vitest';
import { HandledMessages } from './handled-messages.js';

describe('HandledMessages', () => {
  it('answers what was remembered for an id, and forgets the least recently remembered id beyond its capacity', () => {
    const handled = new HandledMessages<string>(2);
    handled.remember('a', 'complete');
    handled.remember('b', 'reject');
    expect([handled.get('a'), handled.get('b'), handled.get('c')]).toEqual(['complete', 'reject', undefined]);
    handled.remember('a', 'complete'); // remembered again: now the most recent
    handled.remember('c', 'complete');
    expect([handled.get('a'), handled.get('b'), handled.get('c')]).toEqual(['complete', undefined, 'complete']);
    expect(handled.size).toBe(2);
  });

  it('refuses a capacity that is not a positive integer, naming it', () => {
    expect(() => new HandledMessages(0)).toThrow('capacity: expected a positive integer, got 0');
    expect(() => new HandledMessages(1.5)).toThrow(RangeError);
  });
});
