import { BUILT_IN_DEVICE_TYPES } from '@fieldlink/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceTypeCommandCatalog } from './command-catalog.js';

/* The catalog reads msdyn_message text under the organisation's command property names: any text, any names → a payload or issues. */
const catalog = deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES);
const names = fc.record({
  commandNameProperty: fc.oneof(fc.constant('CommandName'), fc.string({ maxLength: 8 })),
  commandParametersProperty: fc.oneof(fc.constant('Parameters'), fc.string({ maxLength: 8 })),
});
const message = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b)),
  fc.jsonValue({ maxDepth: 4 }).map((j) => JSON.stringify(j) ?? 'null'),
  fc
    .tuple(names, fc.constantFrom('Set Values', 'Reset Thermostat', 'Notification', 'Nope'), fc.jsonValue({ maxDepth: 3 }))
    .map(([n, c, p]) => JSON.stringify({ [n.commandNameProperty]: c, [n.commandParametersProperty]: p })),
);

describe('command catalog (fuzz)', () => {
  it('answers any message under any property names with a payload or issues, never a throw', () => {
    fc.assert(
      fc.property(message, fc.option(names, { nil: undefined }), (text, n) => {
        const r = catalog.check('Thermostat', text, n);
        if (r.ok) expect(typeof r.value.CommandName).toBe('string');
        else expect(r.error.length).toBeGreaterThan(0);
      }),
    );
  });
});
