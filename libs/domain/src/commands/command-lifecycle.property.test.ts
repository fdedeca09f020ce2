import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyCommandEvent, cfsStatusOf, commandStateForFeedback, TERMINAL_COMMAND_STATES, type CommandEvent } from './command-lifecycle.js';
import { CfsCommandStatus, type CommandState, type DeliveryFeedbackStatus } from './command-values.js';

/** The only steps there are; every other pair would skip or undo one. */
const EDGES = new Set([
  'requested>sent',
  'requested>failed',
  'sent>delivered',
  'sent>expired',
  'sent>rejected',
  'sent>failed',
  'delivered>acknowledged',
  'delivered>expired',
]);
const EVENTS: CommandEvent[] = [
  { type: 'sent' },
  { type: 'sendFailed', reason: 'hub unreachable' },
  ...(['Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged'] as DeliveryFeedbackStatus[]).map((status): CommandEvent => ({
    type: 'feedback',
    status,
  })),
  { type: 'acknowledged' },
  { type: 'timedOut' },
  { type: 'answerTimedOut' },
];

class Step implements fc.Command<{ history: CommandState[] }, { state: CommandState }> {
  constructor(readonly event: CommandEvent) {}
  check = () => true;
  run(m: { history: CommandState[] }, r: { state: CommandState }): void {
    const before = r.state;
    const result = applyCommandEvent(before, this.event);
    if (TERMINAL_COMMAND_STATES.has(before)) expect(!result.ok && result.error.code).toBe('CommandEnded');
    if (!result.ok) {
      expect(result.error.message.length).toBeGreaterThan(0);
      return;
    }
    expect(EDGES.has(`${before}>${result.value}`)).toBe(true);
    r.state = result.value;
    m.history.push(result.value);
  }
  toString = () => JSON.stringify(this.event);
}

describe('the command state machine', () => {
  it('never leaves a terminal state (refused as CommandEnded) and never skips a required step (model-based)', () => {
    fc.assert(
      fc.property(
        fc.commands(
          EVENTS.map((e) => fc.constant(new Step(e))),
          { maxCommands: 20 },
        ),
        (cmds) => {
          fc.modelRun(() => ({ model: { history: ['requested'] as CommandState[] }, real: { state: 'requested' as CommandState } }), cmds);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the CFS status in step: In Progress, then Sent, or Error at a failed end', () => {
    expect(cfsStatusOf('requested')).toBe(CfsCommandStatus.InProgress);
    expect(['sent', 'delivered', 'acknowledged'].map((s) => cfsStatusOf(s as CommandState))).toEqual([
      CfsCommandStatus.Sent,
      CfsCommandStatus.Sent,
      CfsCommandStatus.Sent,
    ]);
    expect(['expired', 'rejected', 'failed'].map((s) => cfsStatusOf(s as CommandState))).toEqual([
      CfsCommandStatus.Error,
      CfsCommandStatus.Error,
      CfsCommandStatus.Error,
    ]);
  });

  it('maps every hub delivery feedback to the state it leads to', () => {
    expect(
      Object.fromEntries((['Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged'] as const).map((f) => [f, commandStateForFeedback(f)])),
    ).toEqual({ Success: 'delivered', Expired: 'expired', DeliveryCountExceeded: 'failed', Rejected: 'rejected', Purged: 'failed' });
  });

  it('expires a delivered command the device never answered, and only a delivered one', () => {
    expect(applyCommandEvent('delivered', { type: 'answerTimedOut' })).toEqual({ ok: true, value: 'expired' });
    expect(applyCommandEvent('sent', { type: 'answerTimedOut' }).ok).toBe(false);
    expect(applyCommandEvent('sent', { type: 'timedOut' })).toEqual({ ok: true, value: 'expired' });
    expect(applyCommandEvent('requested', { type: 'timedOut' })).toEqual({ ok: true, value: 'failed' });
  });

  it('refuses an acknowledgement before delivery, with the reason', () => {
    expect(applyCommandEvent('sent', { type: 'acknowledged' })).toEqual({
      ok: false,
      error: { code: 'TransitionRefused', message: 'an acknowledgement needs the command delivered first; it is sent' },
    });
  });
});
