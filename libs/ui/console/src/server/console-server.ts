import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { DeviceTypeDefinition, ValidationIssue } from '@fieldlink/domain';
import type { AlertActionError, AlertActions, DeviceRegistrations } from '@fieldlink/flows';
import type { ClockPort, CrmGatewayPort, LogPort, StatusStorePort } from '@fieldlink/ports';
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
import { commandFormsOf, readCommandForm, type CommandForm } from './command-form.js';
import { readConsoleSnapshot } from './console-snapshot.js';
import { StatusRowsReader } from './status-rows-reader.js';

/** What the console listens to for live updates; the composition's `EventFeed` is one. */
export interface LiveEvents {
  subscribe(listener: (event: { readonly event: string }) => void): () => void;
}

export interface ConsoleServerOptions {
  /** CRM reads: devices, alerts, commands, cases, work orders. */
  readonly crm: CrmGatewayPort;
  /** Per-minute aggregates (`crmiotevents`) and device health. */
  readonly statusStore: StatusStorePort;
  /** The alert actions of flow 11: send a command, create a case or a work order, close. */
  readonly alertActions: Pick<AlertActions, 'sendCommand' | 'createCase' | 'createWorkOrder' | 'close'>;
  /** Registration of a CRM device in the hub (flows 16′–18″). */
  readonly registrations: Pick<DeviceRegistrations, 'registerCrmDevice'>;
  /** The device types and the commands each accepts, for the command form. */
  readonly deviceTypes: readonly DeviceTypeDefinition[];
  /** The device type of a device the CRM does not know (the flows assume the same). */
  readonly defaultDeviceType?: string;
  /** What happens in the stack; each event makes the pages refresh. */
  readonly events?: LiveEvents;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Required when `host` is not loopback (at least 16 characters); checked on every request and on the live stream. */
  readonly token?: string;
  readonly clock?: ClockPort;
  /** Pages refresh at least this often even when nothing is logged, so "offline" and "last activity" stay true (default 5 s). */
  readonly refreshIntervalMs?: number;
  readonly log?: LogPort;
}

const page = (name: string): string => fileURLToPath(new URL(`../page/${name}`, import.meta.url));
const require = createRequire(import.meta.url);
const MAX_CHART_MINUTES = 24 * 60;
const CHANGED_MIN_INTERVAL_MS = 500;

/**
 * The console's page and its API: one snapshot of devices, alerts and commands, per-minute
 * aggregates per device, the alert and registration actions through the flows, and a live
 * stream that tells the pages when to read again.
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<WebServerHandle> {
  const { crm, statusStore, alertActions, registrations } = options;
  const now = (): number => (options.clock ?? { now: () => Date.now() }).now();
  const forms = commandFormsOf(options.deviceTypes);
  const stream = new EventStream(options.log === undefined ? {} : { log: options.log });
  const statusRows = new StatusRowsReader(statusStore, options.log);

  // Many log events arrive together (one reading: ingest, alert, CRM record) and a busy fleet
  // logs all the time: the pages hear of them at most every 500 ms, and read once for all.
  let pending = new Set<string>();
  let debounce: NodeJS.Timeout | undefined;
  let lastSent = 0;
  const unsubscribe = options.events?.subscribe((e) => {
    pending.add(e.event);
    debounce ??= setTimeout(
      () => {
        stream.send('changed', { events: [...pending] });
        pending = new Set();
        debounce = undefined;
        lastSent = Date.now();
      },
      Math.max(100, lastSent + CHANGED_MIN_INTERVAL_MS - Date.now()),
    );
  });
  const ticker = setInterval(() => stream.send('tick', { at: now() }), options.refreshIntervalMs ?? 5000);
  ticker.unref();
  /** After an action, pages refresh at once, whether or not a feed is wired. */
  const changed = (what: string): void => stream.send('changed', { events: [what] });

  const formsFor = async (deviceId: string): Promise<{ deviceType: string; forms: readonly CommandForm[] }> => {
    const deviceType = (await crm.findDeviceByHubId(deviceId))?.deviceType ?? options.defaultDeviceType ?? options.deviceTypes[0]?.name ?? '';
    return { deviceType, forms: forms.get(deviceType) ?? [] };
  };
  const typeNamed = (name: string): DeviceTypeDefinition | undefined => options.deviceTypes.find((t) => t.name === name);

  const withBody = (handler: (body: Record<string, unknown>, context: RequestContext) => Promise<void>) => async (context: RequestContext) => {
    const body = await readJsonObject(context.request);
    if (!body.ok) return sendIssues(context.response, 400, [body.error]);
    await handler(body.value, context);
  };
  const requiredText = (body: Record<string, unknown>, field: string, issues: ValidationIssue[]): string => {
    const value = body[field];
    if (typeof value !== 'string' || value.trim() === '') issues.push({ path: field, message: 'required: enter some text' });
    return typeof value === 'string' ? value.trim() : '';
  };
  const actionFailed = (context: RequestContext, error: AlertActionError | { code: string; message: string }): void => {
    const status =
      error.code === 'AlertNotFound' || error.code === 'DeviceNotFound'
        ? 404
        : error.code === 'AlertClosed' || error.code === 'AlertInactive' || error.code === 'ActionRefused'
          ? 409
          : 400;
    const issues =
      'issues' in error && Array.isArray(error.issues) && error.issues.length > 0
        ? (error.issues as readonly ValidationIssue[])
        : [{ path: '(action)', message: error.message }];
    sendIssues(context.response, status, issues);
  };

  const routes: Route[] = [
    {
      method: 'GET',
      path: /^\/api\/snapshot$/,
      handle: async ({ response }) => sendJson(response, 200, await readConsoleSnapshot({ crm, statusStore, now, log: options.log })),
    },
    {
      method: 'GET',
      path: /^\/api\/devices\/([^/]+)\/aggregates$/,
      handle: async ({ response, url, params }) => {
        const minutes = Number(url.searchParams.get('minutes') ?? '60');
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_CHART_MINUTES)
          return sendIssues(response, 400, [{ path: 'minutes', message: `expected a whole number from 1 to ${MAX_CHART_MINUTES}` }]);
        const to = now();
        sendJson(response, 200, {
          deviceId: params[0],
          from: to - minutes * 60_000,
          to,
          rows: await statusRows.aggregates(params[0]!, to - minutes * 60_000, to),
        });
      },
    },
    {
      method: 'GET',
      path: /^\/api\/devices\/([^/]+)\/commands$/,
      handle: async ({ response, params }) => sendJson(response, 200, await formsFor(params[0]!)),
    },
    {
      method: 'POST',
      path: /^\/api\/alerts\/([^/]+)\/commands$/,
      handle: withBody(async (body, context) => {
        const alert = await crm.getIoTAlert(context.params[0]!);
        if (alert === undefined) return sendIssues(context.response, 404, [{ path: 'alertId', message: `no IoT alert with id ${context.params[0]}` }]);
        const { deviceType } = await formsFor(alert.deviceId);
        const form = readCommandForm(body, typeNamed(deviceType), deviceType);
        if (!form.ok) return sendIssues(context.response, 400, form.error);
        const sent = await alertActions.sendCommand(alert.alertId, form.value.commandName, form.value.parameters);
        if (!sent.ok) return actionFailed(context, sent.error);
        changed('command.requested');
        sendJson(context.response, 200, { ok: true, commandId: sent.value.commandId });
      }),
    },
    {
      method: 'POST',
      path: /^\/api\/alerts\/([^/]+)\/case$/,
      handle: withBody(async (body, context) => {
        const issues: ValidationIssue[] = [];
        const title = requiredText(body, 'title', issues);
        if (issues.length > 0) return sendIssues(context.response, 400, issues);
        const created = await alertActions.createCase(context.params[0]!, { title });
        if (!created.ok) return actionFailed(context, created.error);
        changed('case.created');
        sendJson(context.response, 200, { ok: true, ...created.value });
      }),
    },
    {
      method: 'POST',
      path: /^\/api\/alerts\/([^/]+)\/work-order$/,
      handle: withBody(async (body, context) => {
        const issues: ValidationIssue[] = [];
        const summary = requiredText(body, 'summary', issues);
        if (issues.length > 0) return sendIssues(context.response, 400, issues);
        const created = await alertActions.createWorkOrder(context.params[0]!, { summary });
        if (!created.ok) return actionFailed(context, created.error);
        changed('work-order.created');
        sendJson(context.response, 200, { ok: true, ...created.value });
      }),
    },
    {
      method: 'POST',
      path: /^\/api\/alerts\/([^/]+)\/close$/,
      handle: withBody(async (_body, context) => {
        const closed = await alertActions.close(context.params[0]!);
        if (!closed.ok) return actionFailed(context, closed.error);
        changed('alert.closed');
        sendJson(context.response, 200, { ok: true });
      }),
    },
    {
      method: 'POST',
      path: /^\/api\/devices\/([^/]+)\/register$/,
      handle: withBody(async (_body, context) => {
        const registered = await registrations.registerCrmDevice(context.params[0]!);
        if (!registered.ok) return actionFailed(context, registered.error);
        changed('device.registration');
        sendJson(context.response, 200, { ok: true, result: registered.value });
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
      '/console.js': { file: page('console.js'), contentType: CONTENT_TYPES.js },
      '/console.css': { file: page('console.css'), contentType: CONTENT_TYPES.css },
      // The chart library, served from the installed package: no CDN at run time.
      '/vendor/uPlot.iife.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), contentType: CONTENT_TYPES.js },
      '/vendor/uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), contentType: CONTENT_TYPES.css },
    },
    onClose: () => {
      unsubscribe?.();
      clearInterval(ticker);
      if (debounce !== undefined) clearTimeout(debounce);
    },
  });
}
