// A TypeScript consumer with the strictest flags (exactOptionalPropertyTypes, no skipLibCheck):
// it compiles against the published declarations, never the libraries' sources.
import { RulesEngine, emptyRulesEngineState, loadRuleSet, type Result, type RuleOutcome, type TelemetryEvent, type ValidationIssue } from '@fieldlink/domain';
import { InMemoryQueue, ManualClock } from '@fieldlink/adapter-in-memory';
import type { MessageQueuePort, QueueMessage } from '@fieldlink/ports';
import { messageQueueConformance, type QueueFactory } from '@fieldlink/ports/testing';

export function alertsFor(document: unknown, events: readonly TelemetryEvent[]): Result<readonly RuleOutcome[], ValidationIssue[]> {
  const loaded = loadRuleSet(document);
  if (!loaded.ok) return loaded;
  const engine = new RulesEngine(loaded.value);
  const state = emptyRulesEngineState(loaded.value);
  return { ok: true, value: events.flatMap((e) => engine.evaluate(state, e, 'Thermostat')) };
}

export async function sendOne(queue: MessageQueuePort, message: QueueMessage): Promise<void> {
  await queue.send([message]);
}

export const factory: QueueFactory = async (settings) => {
  const clock = new ManualClock(0);
  const queue = new InMemoryQueue('strict', { ...settings, clock });
  return { queue, advanceTime: async (ms) => clock.advance(ms), dispose: () => queue.close() };
};
export const suite: typeof messageQueueConformance = messageQueueConformance;
