import { crmGatewayConformance } from '@fieldlink/ports/testing';
import { InMemoryCrm } from './in-memory-crm.js';
import { SequentialIds } from './random-ids.js';
import { ManualClock } from './system-clock.js';

crmGatewayConformance('InMemoryCrm', async () => {
  const clock = new ManualClock(Date.parse('2026-11-28T09:00:00Z'));
  const crm = new InMemoryCrm(new SequentialIds('crm'), { clock });
  return {
    crm,
    advanceTime: async (ms) => clock.advance(ms),
    setIoTSettings: async (settings) => crm.setIoTSettings(settings),
    defineDeviceCategory: async (category) => void crm.defineDeviceCategory(category),
    dispose: async () => undefined,
  };
});
