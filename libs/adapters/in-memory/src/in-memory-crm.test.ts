import { crmGatewayConformance } from '@fieldlink/ports/testing';
import { InMemoryCrm } from './in-memory-crm.js';
import { SequentialIds } from './random-ids.js';
import { ManualClock } from './system-clock.js';

crmGatewayConformance('InMemoryCrm', async () => {
  const clock = new ManualClock(Date.parse('2026-11-28T09:00:00Z'));
  return { crm: new InMemoryCrm(new SequentialIds('crm'), { clock }), advanceTime: async (ms) => clock.advance(ms), dispose: async () => undefined };
});
