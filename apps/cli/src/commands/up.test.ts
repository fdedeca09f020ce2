import { parseConfig, type FieldlinkConfig } from '@fieldlink/composition';
import { describe, expect, it } from 'vitest';
import { DEMO_AUTOMATION_FILE, withDemoAutomation } from './up.js';

const config = (document: Record<string, unknown>): FieldlinkConfig => {
  const parsed = parseConfig(document);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
};

describe('the automation policy of fieldlink up', () => {
  it('turns the demo policy on explicitly on the embedded default and with the Dataverse emulator in process', () => {
    expect(withDemoAutomation(config({})).automation.file).toBe(DEMO_AUTOMATION_FILE);
    expect(withDemoAutomation(config({ ports: { crm: 'dataverse' } })).automation.file).toBe(DEMO_AUTOMATION_FILE);
  });

  it('leaves it off against a real organisation, whose rules framework runs in the CRM, unless a document is named', () => {
    const organisation = { ports: { crm: 'dataverse' }, dataverse: { url: 'https://contoso.crm.dynamics.com' } };
    expect(withDemoAutomation(config(organisation)).automation.file).toBeUndefined();
    expect(withDemoAutomation(config({ ...organisation, automation: { file: '/policies/ours.yaml' } })).automation.file).toBe('/policies/ours.yaml');
  });

  it('keeps the document the configuration names', () => {
    expect(withDemoAutomation(config({ automation: { file: '/policies/ours.yaml' } })).automation.file).toBe('/policies/ours.yaml');
  });
});
