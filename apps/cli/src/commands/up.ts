import { toMsdynIotAlertRecord, TOKENS, type CrmGatewayPort, type DeviceTelemetryPort, type LogFields, type LogPort } from '@fieldlink/ports';
import { SimulatedFleet } from '../fleet/simulated-fleet.js';
import { createLocalContainer, LocalStack } from '../local-stack/local-stack.js';
import { TerminalLog } from '../terminal-log.js';

export interface UpOptions {
  readonly devices: number;
  readonly drifting: number;
  readonly interval: number;
  readonly json: boolean;
}

/** `fieldlink up`: the local stack and a simulated fleet, until SIGINT or SIGTERM. */
export async function runUp(options: UpOptions): Promise<void> {
  const terminal = new TerminalLog(undefined, { json: options.json, colors: process.stdout.isTTY });
  const holder: { crm?: CrmGatewayPort } = {};
  // Show each new CRM alert record as CFS would store it.
  const log: LogPort = {
    info: (event: string, fields?: LogFields) => {
      terminal.info(event, fields);
      if (event === 'crm.alert-created' && holder.crm !== undefined) void printRecord(holder.crm, String(fields?.['alertId']), terminal);
    },
    warn: (e, f) => terminal.warn(e, f),
    error: (e, f) => terminal.error(e, f),
  };
  const stack = new LocalStack(createLocalContainer({ log }));
  const crm = (holder.crm = stack.get<CrmGatewayPort>(TOKENS.CrmGateway));
  await stack.start();
  const fleet = new SimulatedFleet(stack.get<DeviceTelemetryPort>(TOKENS.DeviceTelemetry), log, {
    devices: options.devices,
    drifting: Math.min(options.drifting, options.devices),
    intervalMs: options.interval,
    driftPerMinute: 30,
  });
  fleet.start();
  terminal.info('fieldlink.up', { devices: options.devices, drifting: options.drifting, profile: 'embedded (in-memory)', stop: 'Ctrl-C' });

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  terminal.info('fieldlink.stopping');
  fleet.stop();
  await stack.stop();
  const alerts = await crm.listIoTAlerts();
  terminal.info('fieldlink.stopped', { alertsCreated: alerts.length });
}

async function printRecord(crm: CrmGatewayPort, alertId: string, log: LogPort): Promise<void> {
  const alert = (await crm.listIoTAlerts()).find((a) => a.alertId === alertId);
  if (alert !== undefined) log.info('crm.msdyn_iotalert', { correlationId: alert.alertToken, record: JSON.stringify({ msdyn_iotalertid: alertId, ...toMsdynIotAlertRecord(alert) }) });
}
