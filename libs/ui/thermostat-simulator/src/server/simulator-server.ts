import { fileURLToPath } from 'node:url';
import { isHubDeviceId, type CodedError, type Result } from '@fieldlink/domain';
import type { LogPort } from '@fieldlink/ports';
import {
  CONTENT_TYPES,
  EventStream,
  readJsonObject,
  sendIssues,
  sendJson,
  startWebServer,
  type RequestContext,
  type Route,
  type WebServerHandle,
} from '@fieldlink/ui-web-kit';
import type { FleetError } from '../fleet/fleet-error.js';
import type { ThermostatFleet } from '../fleet/thermostat-fleet.js';
import type { FleetEvent, ThermostatView } from '../fleet/thermostat-view.js';
import { FormFields } from './form-fields.js';

/** Why a device added on the page could not be made ready to connect (answered 409). */
export type DevicePreparationError = CodedError<
  /** This process has no device registration to make it with. */
  | 'RegistrationUnavailable'
  /** The hub refused to register it; the message says why. */
  | 'RegistrationRefused'
  /** Its registration has not completed yet. */
  | 'RegistrationPending'
>;

export interface SimulatorServerOptions {
  /** The thermostats the page shows and changes. The server never starts or stops it. */
  readonly fleet: ThermostatFleet;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Required when `host` is not loopback (at least 16 characters); checked on every request and on the live stream. */
  readonly token?: string;
  /** The temperature the cloud alerts above, drawn as a line on each card (CFS default 70). */
  readonly threshold?: number;
  /**
   * Runs before a device added on the page connects, e.g. to register it in the hub (and the CRM)
   * as the fleet's other devices are. An error refuses the device with that reason (409) and it is
   * not added. Without it, an unregistered device shows its refused connection.
   */
  readonly prepareDevice?: (deviceId: string) => Promise<Result<void, DevicePreparationError> | void>;
  /** How often changes are pushed to the pages, coalesced (default 250 ms). */
  readonly pushIntervalMs?: number;
  readonly log?: LogPort;
}

const page = (name: string): string => fileURLToPath(new URL(`../page/${name}`, import.meta.url));
const TEMPERATURE_RANGE = { min: -50, max: 150 } as const;
const HUMIDITY_RANGE = { min: 0, max: 100 } as const;

/**
 * The thermostat simulator's page and its API: the fleet live over server-sent events, and the
 * controls (add, remove, nudge, drift, pause, reconnect), each checked here before the fleet
 * changes; a refused input answers 400 with the issues and changes nothing.
 */
export async function startSimulatorServer(options: SimulatorServerOptions): Promise<WebServerHandle> {
  const { fleet } = options;
  const stream = new EventStream(options.log === undefined ? {} : { log: options.log });
  // Readings move every second per device: push what changed a few times a second, not every event.
  const changed = new Map<string, ThermostatView>();
  const removed = new Set<string>();
  const unsubscribe = fleet.subscribe((event: FleetEvent) => {
    if (event.type === 'device-added' || event.type === 'device-changed') {
      changed.set(event.device.deviceId, event.device);
      removed.delete(event.device.deviceId);
    } else if (event.type === 'device-removed') {
      changed.delete(event.deviceId);
      removed.add(event.deviceId);
    }
  });
  const flush = setInterval(() => {
    if (changed.size === 0 && removed.size === 0) return;
    stream.send('fleet', { changed: [...changed.values()], removed: [...removed] });
    changed.clear();
    removed.clear();
  }, options.pushIntervalMs ?? 250);
  flush.unref();

  const withFields = (handler: (fields: FormFields, context: RequestContext) => Promise<void>) => async (context: RequestContext) => {
    const body = await readJsonObject(context.request);
    if (!body.ok) return sendIssues(context.response, 400, [body.error]);
    await handler(new FormFields(body.value), context);
  };
  /** Answers a fleet result: the device as it is now, or a 404 (no such device) / 400 with the fleet's reason. */
  const answer = (context: RequestContext, result: Result<unknown, FleetError>): void => {
    if (result.ok) return sendJson(context.response, 200, { ok: true, device: result.value ?? null });
    sendIssues(context.response, result.error.code === 'DeviceNotFound' ? 404 : 400, [{ path: result.error.path, message: result.error.message }]);
  };
  const device = /^\/api\/devices\/([^/]+)\/(remove|nudge|drift|pause|reconnect)$/;
  const routes: Route[] = [
    {
      method: 'GET',
      path: /^\/api\/fleet$/,
      handle: async ({ response }) => sendJson(response, 200, { devices: fleet.list(), threshold: options.threshold ?? 70 }),
    },
    {
      method: 'POST',
      path: /^\/api\/devices$/,
      handle: withFields(async (fields, context) => {
        const deviceId = fields.text('deviceId');
        const temperature = fields.optionalNumber('temperature', TEMPERATURE_RANGE);
        const humidity = fields.optionalNumber('humidity', HUMIDITY_RANGE);
        const target = fields.optionalNumber('target', TEMPERATURE_RANGE);
        if (fields.issues.length > 0) return sendIssues(context.response, 400, fields.issues);
        // An id the fleet refuses anyway (not a hub id, already there) is answered by the fleet below, never prepared.
        if (fleet.get(deviceId) === undefined && isHubDeviceId(deviceId)) {
          const prepared = await options.prepareDevice?.(deviceId);
          if (prepared !== undefined && !prepared.ok)
            return sendIssues(context.response, 409, [{ path: 'deviceId', message: `"${deviceId}" cannot be added: ${prepared.error.message}` }]);
        }
        const values = {
          ...(temperature === undefined ? {} : { temperature }),
          ...(humidity === undefined ? {} : { humidity }),
          ...(target === undefined ? { ...(temperature === undefined ? {} : { target: temperature }) } : { target }),
        };
        answer(context, await fleet.addDevice(deviceId, values));
      }),
    },
    {
      method: 'POST',
      path: device,
      handle: withFields(async (fields, context) => {
        const [deviceId = '', action] = context.params;
        switch (action) {
          case 'remove':
            return answer(context, await fleet.removeDevice(deviceId));
          case 'reconnect':
            return answer(context, await fleet.reconnect(deviceId));
          case 'pause': {
            const paused = fields.boolean('paused');
            if (fields.issues.length > 0) return sendIssues(context.response, 400, fields.issues);
            return answer(context, fleet.setPaused(deviceId, paused));
          }
          case 'nudge': {
            const degrees = fields.number('degrees', { min: -100, max: 100 });
            if (fields.issues.length > 0) return sendIssues(context.response, 400, fields.issues);
            return answer(context, fleet.nudge(deviceId, degrees));
          }
          default: {
            const perMinute = fields.number('perMinute', { min: -60, max: 60 });
            if (fields.issues.length > 0) return sendIssues(context.response, 400, fields.issues);
            return answer(context, fleet.setDrift(deviceId, perMinute));
          }
        }
      }),
    },
  ];
  return startWebServer({
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.log === undefined ? {} : { log: options.log }),
    stream,
    routes,
    staticFiles: {
      '/': { file: page('index.html'), contentType: CONTENT_TYPES.html },
      '/simulator.js': { file: page('simulator.js'), contentType: CONTENT_TYPES.js },
      '/simulator.css': { file: page('simulator.css'), contentType: CONTENT_TYPES.css },
    },
    onClose: () => {
      clearInterval(flush);
      unsubscribe();
    },
  });
}
