import { DEFINED_ONLY_SOURCE, recordsClientInterface, recordsMapClient, updateRecordSource, type PortTemplate } from './template.js';

/** `CrmCommandsPort` (the CRM gateway's commands role) over a client of the CRM's records, with an injected clock. */
export const crmCommandsTemplate: PortTemplate = {
  portInterface: 'CrmCommandsPort',
  suite: 'crmCommandsConformance',
  fileSuffix: 'crm-commands',
  classSuffix: 'CrmCommands',
  testClient: 'a Map of tables, with a manual clock',
  summary:
    'the device commands (`msdyn_iotdevicecommand`: created once per id, status writes that can be conditional, listed newest first, the commands in a state paged oldest first), the commands role of `CrmGatewayPort`; the other roles have their own suites in `@fieldlink/ports/testing`',
  source: (n) => `import { randomUUID } from 'node:crypto';
import { CfsCommandStatus, type CommandState } from '@fieldlink/domain';
import {
  commandNotFound,
  commandStateMoved,
  CrmError,
  type ClockPort,
  type CommandStatusCondition,
  type CommandStatusUpdate,
  type CommandStatusWrite,
  type CrmCommand,
  type CrmCommandsPort,
  type NewCrmCommand,
} from '@fieldlink/ports';

${recordsClientInterface(n)}

/** The commands, under their record ids. */
const COMMANDS = 'msdyn_iotdevicecommands';

/** Oldest first: by creation time, then by id, so commands created in one second keep one order from page to page. */
const oldestFirst = (a: CrmCommand, b: CrmCommand): number => a.createdOn - b.createdOn || a.commandId.localeCompare(b.commandId);

/**
 * The device commands on ${n.file}, stamped with the injected clock. A status write is a read and
 * a replace while the command is unchanged: a conditional one decides on the state it read, and
 * when another writer came in between it reads and decides again, so of two writers from one
 * state exactly one applies.
 */
export class ${n.className}CrmCommands implements CrmCommandsPort {
  constructor(
    private readonly client: ${n.className}Client,
    private readonly clock: ClockPort,
  ) {}

  async createCommand(command: NewCrmCommand): Promise<{ readonly commandId: string; readonly created: boolean }> {
    const commandId = command.commandId ?? randomUUID();
    const now = this.clock.now();
    const record: CrmCommand = { ...command, commandId, state: 'requested', cfsStatus: CfsCommandStatus.InProgress, createdOn: now, modifiedOn: now };
    return { commandId, created: await this.client.create(COMMANDS, commandId, JSON.stringify(record)) };
  }

  async getCommand(commandId: string): Promise<CrmCommand | undefined> {
    const found = await this.client.get(COMMANDS, commandId);
    return found === undefined ? undefined : (JSON.parse(found.text) as CrmCommand);
  }

  async updateCommandStatus(commandId: string, update: CommandStatusUpdate, condition?: CommandStatusCondition): Promise<CommandStatusWrite> {
    const updated = await updateRecord<CrmCommand>(this.client, COMMANDS, commandId, (command) =>
      condition !== undefined && command.state !== condition.ifState ? undefined : { ...command, ...definedOnly(update), modifiedOn: this.clock.now() },
    );
    if (updated === undefined) return { ok: false, error: commandNotFound(commandId) };
    if (!updated.written && condition !== undefined) return { ok: false, error: commandStateMoved(commandId, condition.ifState, updated.found.state) };
    return { ok: true, value: undefined };
  }

  async listCommands(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<CrmCommand[]> {
    const matching = (await this.commands()).filter((c) => query.deviceId === undefined || c.deviceId === query.deviceId).sort((a, b) => oldestFirst(b, a));
    return query.top === undefined ? matching : matching.slice(0, query.top);
  }

  async *commandsInState(state: CommandState, pageSize: number): AsyncIterable<readonly CrmCommand[]> {
    const size = Math.max(1, Math.floor(pageSize));
    // Keyed paging: each page starts after the last command handed out, so one leaving the state shifts none of the others out.
    let after: CrmCommand | undefined;
    for (;;) {
      const page = (await this.commands())
        .filter((c) => c.state === state && (after === undefined || oldestFirst(after, c) < 0))
        .sort(oldestFirst)
        .slice(0, size);
      if (page.length === 0) return;
      after = page.at(-1);
      yield page;
      if (page.length < size) return;
    }
  }

  private async commands(): Promise<CrmCommand[]> {
    return (await this.client.list(COMMANDS)).map(([, text]) => JSON.parse(text) as CrmCommand);
  }
}

${updateRecordSource(n)}

${DEFINED_ONLY_SOURCE}
`,
  test: (n) => `import { randomUUID } from 'node:crypto';
import { crmCommandsConformance } from '@fieldlink/ports/testing';
import { ${n.className}CrmCommands, type ${n.className}Client } from './${n.file}-crm-commands.js';

${recordsMapClient(n)}

crmCommandsConformance('${n.className}CrmCommands', async () => {
  // A manual clock: "newest first" is tested by moving it, not by waiting.
  let now = Date.parse('2026-11-28T09:00:00Z');
  return {
    crm: new ${n.className}CrmCommands(mapClient(), { now: () => now }),
    // A command refers to its device and parent alert by id only: this store checks no reference, so they are kept nowhere.
    related: {
      upsertDevice: async () => undefined,
      createIoTAlert: async (alert) => ({ alertId: alert.alertId ?? randomUUID(), created: true }),
    },
    advanceTime: async (ms) => {
      now += ms;
    },
    dispose: async () => undefined,
  };
});
`,
};
