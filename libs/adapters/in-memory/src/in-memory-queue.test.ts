import { messageQueueConformance } from '@fieldlink/ports/testing';
import { InMemoryQueue } from './in-memory-queue.js';
import { ManualClock } from './system-clock.js';

messageQueueConformance('InMemoryQueue', async (settings) => {
  const clock = new ManualClock(1_000_000);
  const queue = new InMemoryQueue('conformance', { ...settings, clock });
  return { queue, advanceTime: async (ms) => clock.advance(ms), dispose: () => queue.close() };
});
