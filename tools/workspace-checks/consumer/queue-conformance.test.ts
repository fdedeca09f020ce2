// A consumer's own vitest run of a conformance suite shipped in @fieldlink/ports/testing,
// against the in-memory queue of @fieldlink/adapter-in-memory.
import { InMemoryQueue, ManualClock } from '@fieldlink/adapter-in-memory';
import { messageQueueConformance } from '@fieldlink/ports/testing';

messageQueueConformance('InMemoryQueue (installed package)', async (settings) => {
  const clock = new ManualClock(1_000_000);
  const queue = new InMemoryQueue('conformance', { ...settings, clock });
  return { queue, advanceTime: async (ms) => clock.advance(ms), dispose: () => queue.close() };
});
