// Flows 16–19 (commands): commands left requested or unanswered, found and sent or expired.
import { applyCommandEvent, type CommandEvent, type CommandState } from '@fieldlink/domain';
import type { ClockPort, CrmCommand, CrmCommandsPort, LogPort } from '@fieldlink/ports';
import type { CommandDispatch } from './command-dispatch.js';
import { commandStatusUpdate } from './command-progress.js';

export interface CommandSweepDeps {
  readonly crm: CrmCommandsPort;
  readonly log: LogPort;
  readonly clock: ClockPort;
  /** A command's time to live: not sent by then it fails; sent with no delivery feedback by then it expires. */
  readonly ttlMs: number;
  /** A delivered command the device has not answered by then expires. */
  readonly answerTimeoutMs: number;
  /**
   * Sends requested commands again. Left out when the CRM announces its commands on the outbound
   * queue (its redelivery is the retry there): the sweep then only ends overdue ones.
   */
  readonly dispatch?: CommandDispatch;
  /** Commands read per page of the CRM (default 100). */
  readonly pageSize?: number;
}

export interface SweepReport {
  readonly sent: number;
  /** Still requested: the hub deferred them (throttled, or the device's queue is full). */
  readonly deferred: number;
  readonly refused: number;
  /** Ended by a timeout: failed (never sent) or expired (no feedback, no answer). */
  readonly timedOut: number;
}

const minutes = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

/**
 * Keeps commands moving, with every decision read from the CRM so it survives restarts:
 *
 * - every `requested` command (all of them, page by page, oldest first; not only the newest few)
 *   is sent again until it leaves, or fails once its time to live has passed since it was created;
 *   after one device's queue is found full, that device's later commands wait for the next sweep,
 *   so they leave in order and the hub is not asked again in vain;
 * - a `sent` command with no delivery feedback within its time to live (since it was sent)
 *   expires;
 * - a `delivered` command the device has not answered within the answer timeout expires.
 *
 * Each ending is the domain's (`timedOut`, `answerTimedOut`), written with its reason and
 * conditional on the state read, so feedback or an answer that came meanwhile wins.
 */
export class CommandSweep {
  private readonly pageSize: number;

  constructor(private readonly deps: CommandSweepDeps) {
    this.pageSize = deps.pageSize ?? 100;
  }

  async sweep(): Promise<SweepReport> {
    const report = { sent: 0, deferred: 0, refused: 0, timedOut: 0 };
    await this.sweepRequested(report);
    await this.expire('sent', this.deps.ttlMs, { type: 'timedOut' }, `No delivery feedback within its time to live of ${minutes(this.deps.ttlMs)}`, report);
    await this.expire(
      'delivered',
      this.deps.answerTimeoutMs,
      { type: 'answerTimedOut' },
      `No answer from the device within ${minutes(this.deps.answerTimeoutMs)} of delivery`,
      report,
    );
    return report;
  }

  private async sweepRequested(report: { sent: number; deferred: number; refused: number; timedOut: number }): Promise<void> {
    const { crm, clock, dispatch } = this.deps;
    const full = new Set<string>();
    for await (const page of crm.commandsInState('requested', this.pageSize)) {
      for (const command of page) {
        if (clock.now() - command.createdOn >= this.deps.ttlMs) {
          const reason = `Not sent within its time to live of ${minutes(this.deps.ttlMs)}${command.statusReason === undefined ? '' : `; last: ${command.statusReason}`}`;
          if (await this.end(command, { type: 'timedOut' }, reason)) report.timedOut++;
          continue;
        }
        if (dispatch === undefined) continue;
        if (command.sendToAllConnectedDevices !== true && full.has(command.deviceId)) {
          report.deferred++;
          continue;
        }
        const outcome = await dispatch.dispatch(command.commandId);
        if (outcome.kind === 'sent') report.sent++;
        else if (outcome.kind === 'refused') report.refused++;
        else if (outcome.kind === 'retry-later') {
          report.deferred++;
          if (command.sendToAllConnectedDevices !== true && outcome.reason.startsWith('DeviceQueueFull')) full.add(command.deviceId);
        }
      }
    }
  }

  private async expire(state: CommandState, afterMs: number, event: CommandEvent, reason: string, report: { timedOut: number }): Promise<void> {
    const now = this.deps.clock.now();
    for await (const page of this.deps.crm.commandsInState(state, this.pageSize)) {
      for (const command of page) {
        // modifiedOn is when the command reached its state: only status writes change a command.
        if (now - command.modifiedOn >= afterMs && (await this.end(command, event, reason))) report.timedOut++;
      }
    }
  }

  /** Writes the domain's ending of `command`, conditional on the state read; false when another writer moved it first. */
  private async end(command: CrmCommand, event: CommandEvent, reason: string): Promise<boolean> {
    const next = applyCommandEvent(command.state, event);
    if (!next.ok) return false;
    const written = await this.deps.crm.updateCommandStatus(command.commandId, commandStatusUpdate(next.value, reason), { ifState: command.state });
    const fields = {
      correlationId: command.parentAlertId ?? command.commandId,
      commandId: command.commandId,
      deviceId: command.deviceId,
      commandName: command.name,
    };
    if (!written.ok) {
      if (written.error.code === 'CommandNotFound') this.deps.log.warn('command.gone', { ...fields, reason: written.error.message });
      else this.deps.log.info('command.timeout-overtaken', { ...fields, state: written.error.found });
      return false;
    }
    this.deps.log.warn(`command.${next.value}`, { ...fields, reason });
    return true;
  }
}
