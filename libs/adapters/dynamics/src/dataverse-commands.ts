import { randomUUID } from 'node:crypto';
import { CfsCommandStatus as CfsCommandStatusValue, cfsStatusOf, COMMAND_MESSAGE_MAX, err, ok, type CommandState } from '@fieldlink/domain';
import {
  commandNotFound,
  commandStateMoved,
  CrmError,
  type CommandStatusCondition,
  type CommandStatusUpdate,
  type CommandStatusWrite,
  type CrmCommand,
  type CrmCommandsPort,
  type NewCrmCommand,
} from '@fieldlink/ports';
import { CommandColumns, ExtensionColumns, Tables } from './cfs-tables.js';
import { encodeCommandStatusReason } from './command-status-reason.js';
import type { DataverseClient } from './dataverse-client.js';
import { bind, epochOf, recordId, str, toCommand, toCommandStatus, type Row } from './dataverse-rows.js';
import type { DynamicsSettings } from './dynamics-settings.js';
import { eqString, isGuid, odataDateTime, odataGuid } from './odata-literal.js';

/** Reads and conditional PATCHes of one command status write before a row that keeps changing counts as contention. */
const CONDITIONAL_WRITE_ATTEMPTS = 5;

/**
 * The commands (msdyn_iotdevicecommand) on Dataverse: created under an id chosen before the
 * request, the state kept in stock columns (msdyn_commandstatusreason) or, with the Fieldlink
 * extension solution, in its own column, and conditional status writes on the row's ETag.
 */
export class DataverseCommands implements CrmCommandsPort {
  private extension: Promise<boolean> | undefined;

  constructor(
    private readonly client: DataverseClient,
    private readonly extensionSetting: DynamicsSettings['extension'],
  ) {}

  async createCommand(command: NewCrmCommand): Promise<{ readonly commandId: string; readonly created: boolean }> {
    if (command.message.length > COMMAND_MESSAGE_MAX) {
      throw new CrmError(
        'Rejected',
        `create msdyn_iotdevicecommand refused: msdyn_message holds at most ${COMMAND_MESSAGE_MAX} characters, the message has ${command.message.length}`,
      );
    }
    // An id chosen here makes the create safe to retry even when the caller gave none.
    const commandId = command.commandId !== undefined ? recordId('command', command.commandId) : randomUUID();
    const data: Row = {
      msdyn_name: command.name,
      msdyn_message: command.message,
      msdyn_deviceid: command.deviceId,
      msdyn_sendtoallconnecteddevices: command.sendToAllConnectedDevices ?? false,
      msdyn_commandstatus: CfsCommandStatusValue.InProgress,
      ...((await this.hasExtension()) ? { [ExtensionColumns.commandState.column]: 'requested' } : {}),
      ...bind('commands', 'msdyn_device', 'devices', command.deviceRecordId, false),
      ...bind('commands', 'msdyn_customerasset', 'customerAssets', command.customerAssetId, false),
      ...bind('commands', 'msdyn_parentalert', 'alerts', command.parentAlertId, false),
    };
    const outcome = await this.client.guardedWrite('create msdyn_iotdevicecommand', { table: 'commands', id: commandId, data, mode: 'create' });
    this.client.failUnlessExists('create msdyn_iotdevicecommand', outcome);
    return { commandId, created: outcome.ok };
  }

  async getCommand(commandId: string): Promise<CrmCommand | undefined> {
    const row = await this.client.retrieve('commands', commandId, await this.commandColumns());
    return row === undefined ? undefined : toCommand(row);
  }

  /**
   * Whether the organisation has the Fieldlink extension solution's columns: one read of
   * `EntityDefinitions(LogicalName='msdyn_iotdevicecommand')/Attributes`, on first need. Without
   * them every write keeps to stock columns (the command state in msdyn_commandstatusreason).
   */
  hasExtension(): Promise<boolean> {
    if (this.extensionSetting === 'never') return Promise.resolve(false);
    this.extension ??= this.client
      .exec('retrieve EntityDefinitions', (signal) =>
        this.client.api.retrieveAttributes<Row>({
          entityKey: `LogicalName='${ExtensionColumns.commandState.entity}'`,
          select: ['LogicalName'],
          filter: eqString('LogicalName', ExtensionColumns.commandState.column),
          signal,
        }),
      )
      .then(
        (response) => {
          const found = response.value.some((a) => a['LogicalName'] === ExtensionColumns.commandState.column);
          this.client.log.info('dynamics.extension-discovered', { extension: found });
          return found;
        },
        (error: unknown) => {
          this.extension = undefined;
          throw error;
        },
      );
    return this.extension;
  }

  private async commandColumns(): Promise<string[]> {
    return (await this.hasExtension()) ? [...CommandColumns, ExtensionColumns.commandState.column] : CommandColumns;
  }

  /**
   * Unconditional: a PATCH with `If-Match: *` (only if the row exists). Conditional: Dataverse's
   * optimistic concurrency. The state is read with the row's `@odata.etag` and the PATCH carries
   * it in `If-Match`, so Dataverse refuses it (412) when anything wrote the row since; the row is
   * then read again and decided anew, since a 412 may also come from a write that left the state
   * alone (a reason, a lookup).
   */
  async updateCommandStatus(commandId: string, update: CommandStatusUpdate, condition?: CommandStatusCondition): Promise<CommandStatusWrite> {
    // Not a GUID: no record can have it, and Dataverse is not asked.
    if (!isGuid(commandId)) return err(commandNotFound(commandId));
    const id = odataGuid(commandId);
    const extension = await this.hasExtension();
    const data: Row = {
      msdyn_commandstatus: update.cfsStatus,
      msdyn_commandstatusreason: encodeCommandStatusReason(update.state, update.statusReason),
      ...(extension ? { [ExtensionColumns.commandState.column]: update.state } : {}),
    };
    const operation = 'update msdyn_iotdevicecommand';
    if (condition === undefined) {
      try {
        await this.client.exec(operation, (signal) => this.client.api.update({ collection: Tables.commands.set, key: id, data, ifmatch: '*', signal }));
        return ok(undefined);
      } catch (error) {
        // `If-Match: *` makes the PATCH an update only: Dataverse answers 404 where there is no row.
        if (error instanceof CrmError && error.code === 'NotFound') return err(commandNotFound(commandId, error));
        throw error;
      }
    }
    for (let attempt = 1; attempt <= CONDITIONAL_WRITE_ATTEMPTS; attempt++) {
      const row = await this.client.retrieve(
        'commands',
        commandId,
        extension
          ? ['msdyn_commandstatus', 'msdyn_commandstatusreason', ExtensionColumns.commandState.column]
          : ['msdyn_commandstatus', 'msdyn_commandstatusreason'],
      );
      if (row === undefined) return err(commandNotFound(commandId));
      const found = toCommandStatus(row).state;
      if (found !== condition.ifState) return err(commandStateMoved(commandId, condition.ifState, found));
      const etag = row['@odata.etag'];
      if (typeof etag !== 'string' || etag === '')
        throw new CrmError('Rejected', `${operation} refused: Dataverse returned no @odata.etag to make the write conditional on`);
      try {
        await this.client.exec(operation, (signal) => this.client.api.update({ collection: Tables.commands.set, key: id, data, ifmatch: etag, signal }));
        return ok(undefined);
      } catch (error) {
        // Deleted between the read and the write.
        if (error instanceof CrmError && error.code === 'NotFound') return err(commandNotFound(commandId, error));
        if (!(error instanceof CrmError && error.status === 412)) throw error;
      }
    }
    throw new CrmError('Transient', `${operation} failed: the row changed under each of ${CONDITIONAL_WRITE_ATTEMPTS} conditional writes`);
  }

  async listCommands(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<CrmCommand[]> {
    const rows = await this.client.query('commands', await this.commandColumns(), {
      ...(query.deviceId !== undefined ? { filter: eqString('msdyn_deviceid', query.deviceId) } : {}),
      orderBy: ['createdon desc'],
      ...(query.top !== undefined ? { top: query.top } : {}),
    });
    return rows.filter((r) => query.deviceId === undefined || r['msdyn_deviceid'] === query.deviceId).map(toCommand);
  }

  /**
   * Keyed paging on (createdon, id), oldest first: each page asks for the rows after the last one
   * handed out, so rows that leave the state meanwhile shift nothing, and rows sharing a createdon
   * second are all reached. On a stock organisation the server narrows by the CFS status the state
   * implies (`msdyn_commandstatus`) and the state itself is read from `msdyn_commandstatusreason`
   * here (no text filter on it: `[` is a wildcard to the SQL behind `startswith`); with the
   * extension solution the server filters on its column.
   */
  async *commandsInState(state: CommandState, pageSize: number): AsyncIterable<readonly CrmCommand[]> {
    const top = Math.max(1, Math.min(5_000, Math.floor(pageSize)));
    const extension = await this.hasExtension();
    const inState = extension ? eqString(ExtensionColumns.commandState.column, state) : `msdyn_commandstatus eq ${cfsStatusOf(state)}`;
    const columns = await this.commandColumns();
    let after: { readonly createdOn: string; readonly id: string } | undefined;
    for (;;) {
      const filter =
        after === undefined
          ? inState
          : `${inState} and (createdon gt ${after.createdOn} or (createdon eq ${after.createdOn} and msdyn_iotdevicecommandid gt ${odataGuid(after.id)}))`;
      const rows = await this.client.query('commands', columns, { filter, orderBy: ['createdon asc', 'msdyn_iotdevicecommandid asc'], top });
      const page = rows.slice(0, top);
      if (page.length === 0) return;
      const last = page.at(-1)!;
      after = { createdOn: odataDateTime(epochOf(last['createdon'])), id: str(last['msdyn_iotdevicecommandid']) };
      const commands = page.map(toCommand).filter((c) => c.state === state);
      if (commands.length > 0) yield commands;
      if (page.length < top) return;
    }
  }

  // ---- cases and work orders ----
}
