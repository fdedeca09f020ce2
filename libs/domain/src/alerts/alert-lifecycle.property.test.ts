import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALERT_CREATED, applyAlertAction, type AlertAction, type AlertPhase } from './alert-lifecycle.js';
import { AlertState, AlertStatus } from './alert-values.js';

const VALID_PAIRS = new Set(['0/1', '1/2', '2/3', '2/5', '3/6']);
const ACTIONS: AlertAction[] = ['commandSent', 'caseCreated', 'workOrderCreated', 'notified', 'deactivated', 'reactivated', 'closed'];

/** The model: which statuscode each action leads to from each status, as the README tables it. */
function model(status: number, action: AlertAction): number | undefined {
  if (status === 6) return undefined;
  if (status === 2) return action === 'reactivated' ? 1 : action === 'closed' ? 6 : undefined;
  switch (action) {
    case 'commandSent':
      return status === 3 ? 3 : 5;
    case 'caseCreated':
      return status === 3 ? undefined : 3;
    case 'workOrderCreated':
    case 'notified':
      return status;
    case 'deactivated':
      return status === 1 ? 2 : undefined;
    case 'reactivated':
      return undefined;
    case 'closed':
      return 6;
  }
}

class Act implements fc.Command<{ status: number }, { phase: AlertPhase }> {
  constructor(readonly action: AlertAction) {}
  check = () => true;
  run(m: { status: number }, r: { phase: AlertPhase }): void {
    const expected = model(m.status, this.action);
    const result = applyAlertAction(r.phase, this.action);
    if (expected === undefined) {
      // The refusal's code says why: a closed alert, an inactive one, or an action that does not apply.
      expect(!result.ok && result.error.code).toBe(
        r.phase.state === AlertState.Closed ? 'AlertClosed' : r.phase.state === AlertState.Inactive ? 'AlertInactive' : 'ActionRefused',
      );
      return;
    }
    expect(result.ok && result.value.status).toBe(expected);
    if (!result.ok) return;
    expect(VALID_PAIRS.has(`${result.value.state}/${result.value.status}`)).toBe(true);
    r.phase = result.value;
    m.status = expected;
  }
  toString = () => this.action;
}

describe('the alert state machine', () => {
  it('never leaves Closed, never skips to a status its action does not lead to, keeps statecode and statuscode in step, and codes each refusal by the phase (model-based)', () => {
    fc.assert(
      fc.property(
        fc.commands(
          ACTIONS.map((a) => fc.constant(new Act(a))),
          { maxCommands: 30 },
        ),
        (cmds) => {
          fc.modelRun(() => ({ model: { status: AlertStatus.Active as number }, real: { phase: ALERT_CREATED } }), cmds);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sends a new alert to In Progress – Command Sent when a command goes out', () => {
    expect(applyAlertAction(ALERT_CREATED, 'commandSent')).toEqual({
      ok: true,
      value: { state: AlertState.InProgress, status: AlertStatus.InProgressCommandSent },
    });
  });
});
