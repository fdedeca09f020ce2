import type { AlertAutomationConfig } from '../automation/alert-automation.js';

/**
 * The demo policy of `fieldlink up` (apps/cli/examples/automation.demo.yaml) as the flows' tests
 * use it: a thermostat over its threshold (`AlarmTemp`) is told to cool down to its target
 * temperature (the device's `TargetTemperature` setting, 65 when it has none).
 */
export const COOL_DOWN_POLICY: AlertAutomationConfig = {
  rules: [
    {
      name: 'cool-down-on-AlarmTemp',
      when: { deviceType: 'Thermostat', ruleOutput: 'AlarmTemp' },
      actions: [{ kind: 'send-command', commandName: 'Set Values', parameters: { Reading: { Temperature: '{{device.settings.TargetTemperature|65}}' } } }],
    },
  ],
};
