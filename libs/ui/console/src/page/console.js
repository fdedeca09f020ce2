// The console page: it reads one snapshot from its server and draws the tables again whenever
// the live stream says something changed. Actions open a dialog outside the tables, so a
// refresh never eats what is being typed; the server checks every input and the dialog shows
// its refusal.
// uPlot comes from its own script tag (served from the installed package) as the global `uPlot`.
const uPlot = /** @type {any} */ (window).uPlot;

// Type-checked with JSDoc (tsconfig.page.json); the shapes are those the server's JSON carries.
/**
 * @typedef {{ value: number, label: string }} Labelled
 * @typedef {{ deviceId: string, deviceRecordId?: string, name: string, deviceType?: string, registration: Labelled & { message?: string },
 *   online?: boolean, lastActivityTime?: number, lastReadings: Record<string, number> }} DeviceRow
 * @typedef {{ alertId: string, deviceId: string, description: string, alertTime: number, closed: boolean, status: Labelled,
 *   caseId?: string, workOrderIds: string[], lastCommandId?: string }} AlertRow
 * @typedef {AlertRow & { children: AlertRow[] }} AlertGroup
 * @typedef {{ commandId: string, deviceId: string, name: string, message: string, state: string, statusReason?: string, createdOn: number, cfsStatus: Labelled }} CommandRow
 * @typedef {{ devices: DeviceRow[], alerts: AlertGroup[], commands: CommandRow[], generatedAt: number }} Snapshot
 * @typedef {{ ok?: boolean, error?: string, issues?: Array<{ path: string, message: string }>, result?: { status: number, message: string } }} Answer
 * @typedef {{ ok: boolean, answer: Answer, done?: string }} Submitted
 * @typedef {string | number | Node | null | false | undefined} Child
 */

/**
 * The element a selector names; the page's markup has it, so its absence is a bug worth an exception.
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!(found instanceof HTMLElement)) throw new Error(`the page has no ${selector}`);
  return found;
}

/**
 * Builds an element: el('td', { class: 'x', dataset: { id } }, 'text', child).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** @type {Snapshot} */
let snapshot = { devices: [], alerts: [], commands: [], generatedAt: Date.now() };
/** @type {Set<string>} */
const expanded = new Set();
let chartDevice = '';

// ---- formatting ----

const clock = (/** @type {number} */ ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
/** @param {number | undefined} ms */
function ago(ms) {
  if (ms === undefined) return 'never';
  const s = Math.max(0, Math.round((snapshot.generatedAt - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}
const badge = (/** @type {string} */ text, /** @type {string} */ kind) => el('span', { class: `badge ${kind}` }, text);
const shortId = (/** @type {string} */ id) => (id.length > 10 ? `${id.slice(0, 8)}…` : id);

// ---- drawing ----

/**
 * @param {HTMLElement} table
 * @param {HTMLElement[]} rows
 */
function setRows(table, rows) {
  const body = $('tbody', table);
  body.replaceChildren(...rows);
  $('.empty', table.parentElement ?? document).hidden = rows.length > 0;
}

function drawSummary() {
  const devices = snapshot.devices;
  const online = devices.filter((d) => d.online === true).length;
  const open = snapshot.alerts.filter((a) => !a.closed).length;
  const inFlight = snapshot.commands.filter((c) => c.state === 'requested' || c.state === 'sent' || c.state === 'delivered').length;
  const stat = (/** @type {string | number} */ value, /** @type {string} */ label, kind = '') =>
    el('span', { class: `stat ${kind}` }, el('b', {}, value), ` ${label}`);
  $('#summary').replaceChildren(
    stat(`${online}/${devices.length}`, 'online', online < devices.length ? 'warn' : ''),
    stat(open, 'open alerts', open > 0 ? 'hot' : ''),
    stat(inFlight, 'commands in flight'),
  );
}

function drawDevices() {
  const rows = snapshot.devices.map((d) => {
    const connection = d.online === undefined ? badge('No messages', 'muted') : d.online ? badge('Online', 'ok') : badge('Offline', 'bad');
    const readings = Object.entries(d.lastReadings).map(([k, v]) => el('span', { class: 'reading' }, el('small', {}, k), ` ${Number(v).toFixed(1)}`));
    const reg = d.registration;
    const regKind = reg.value === 192350003 ? 'ok' : reg.value === 192350004 ? 'bad' : reg.value === 192350002 ? 'info' : 'muted';
    const registerButton =
      d.deviceRecordId !== undefined && reg.value !== 192350003 && reg.value !== 192350002
        ? el('button', { type: 'button', class: 'small', onclick: () => void register(d) }, 'Register')
        : null;
    return el(
      'tr',
      {
        dataset: { deviceId: d.deviceId },
        class: d.deviceId === chartDevice ? 'selected' : undefined,
        onclick: (/** @type {MouseEvent} */ e) => {
          if (!(e.target instanceof HTMLButtonElement)) selectChartDevice(d.deviceId);
        },
      },
      el('td', {}, el('div', { class: 'device-id' }, d.deviceId), el('div', { class: 'sub' }, d.deviceType ?? 'not in CRM')),
      el('td', {}, connection),
      el('td', { title: d.lastActivityTime ? new Date(d.lastActivityTime).toLocaleString() : '' }, ago(d.lastActivityTime)),
      el('td', { class: 'readings' }, readings.length ? readings : el('span', { class: 'sub' }, '—')),
      el(
        'td',
        { class: 'registration' },
        el('div', { class: 'reg-line' }, badge(reg.label, regKind), registerButton),
        reg.message && reg.message !== reg.label ? el('div', { class: 'sub', title: reg.message }, reg.message) : null,
      ),
    );
  });
  setRows($('#devices'), rows);
}

/** @type {Record<number, string>} */
const ALERT_KIND = { 1: 'bad', 2: 'muted', 3: 'info', 5: 'info', 6: 'muted' };

/**
 * @param {AlertRow} a
 * @param {{ child?: boolean, childCount?: number }} [options]
 */
function alertRow(a, { child = false, childCount = 0 } = {}) {
  const followUp = [
    a.caseId ? el('span', { class: 'chip', title: a.caseId }, `Case ${shortId(a.caseId)}`) : null,
    ...a.workOrderIds.map((w) => el('span', { class: 'chip', title: w }, `Work order ${shortId(w)}`)),
    a.lastCommandId ? el('span', { class: 'chip', title: a.lastCommandId }, `Command ${commandStateOf(a.lastCommandId)}`) : null,
  ].filter(Boolean);
  const toggle =
    childCount > 0
      ? el(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-expanded': String(expanded.has(a.alertId)),
            onclick: () => {
              if (!expanded.delete(a.alertId)) expanded.add(a.alertId);
              drawAlerts();
            },
          },
          `${expanded.has(a.alertId) ? '▾' : '▸'} ${childCount} grouped`,
        )
      : null;
  const act = (/** @type {string} */ label, /** @type {() => void} */ handler, kind = '') =>
    el('button', { type: 'button', class: `small ${kind}`, disabled: a.closed, onclick: handler }, label);
  return el(
    'tr',
    { class: [child ? 'child' : 'root', a.closed ? 'closed' : ''].join(' '), dataset: { alertId: a.alertId, deviceId: a.deviceId } },
    el('td', { class: 'time' }, child ? el('span', { class: 'sub' }, '↳ ') : null, clock(a.alertTime)),
    el('td', { class: 'nowrap' }, a.deviceId),
    el('td', {}, el('div', {}, a.description), toggle),
    el('td', {}, badge(a.status.label, ALERT_KIND[a.status.value] ?? 'muted')),
    el('td', { class: 'follow-up' }, followUp.length ? followUp : el('span', { class: 'sub' }, '—')),
    el(
      'td',
      { class: 'actions' },
      act('Send command…', () => void openCommandDialog(a), 'primary'),
      act('Case…', () => openTextDialog(a, 'case')),
      act('Work order…', () => openTextDialog(a, 'work-order')),
      act('Close', () => void closeAlert(a)),
    ),
  );
}

function drawAlerts() {
  const rows = [];
  for (const group of snapshot.alerts) {
    rows.push(alertRow(group, { childCount: group.children.length }));
    if (expanded.has(group.alertId)) for (const c of group.children) rows.push(alertRow(c, { child: true }));
  }
  setRows($('#alerts'), rows);
}

/** @param {string} commandId */
function commandStateOf(commandId) {
  return snapshot.commands.find((c) => c.commandId === commandId)?.state ?? '';
}

const LIFECYCLE = ['requested', 'sent', 'delivered', 'acknowledged'];
const FAILED = new Set(['expired', 'rejected', 'failed']);

/** @param {string} state */
function lifecycle(state) {
  const failed = FAILED.has(state);
  // A failed command got as far as "sent" at least; the failure takes the next step's place.
  const reached = failed ? 1 : LIFECYCLE.indexOf(state);
  const steps = LIFECYCLE.map((step, i) => el('li', { class: i < reached ? 'done' : i === reached ? 'current' : '' }, step));
  if (failed) steps.splice(2, 2, el('li', { class: 'failed current' }, state));
  return el('ol', { class: 'lifecycle', dataset: { state } }, steps);
}

function drawCommands() {
  const rows = snapshot.commands.map((c) => {
    let parameters = c.message;
    try {
      parameters = JSON.stringify(JSON.parse(c.message).Parameters ?? {});
    } catch {
      /* shown as stored */
    }
    const cfsKind = c.cfsStatus.value === 192350001 ? 'ok' : c.cfsStatus.value === 192350002 ? 'bad' : 'info';
    return el(
      'tr',
      { dataset: { commandId: c.commandId, state: c.state } },
      el('td', { class: 'time' }, clock(c.createdOn)),
      el('td', { class: 'nowrap' }, c.deviceId),
      el('td', { class: 'nowrap' }, el('strong', {}, c.name)),
      el('td', {}, el('code', {}, parameters)),
      el('td', {}, lifecycle(c.state), c.statusReason ? el('div', { class: 'sub reason' }, c.statusReason) : null),
      el('td', {}, badge(c.cfsStatus.label, cfsKind)),
    );
  });
  setRows($('#commands'), rows);
}

// ---- charts ----

/** @type {Record<string, any>} */
const charts = {};
/** The span the charts show, from the server's answer: fixed, so the axis does not jump with each new minute. */
const chartWindow = { from: Date.now() - 3_600_000, to: Date.now() };

/**
 * @param {string} kind
 * @param {number} width
 */
function chartOptions(kind, width) {
  const color = kind === 'temperature' ? '#e8590c' : '#1c7ed6';
  /** @type {object[]} */
  const series = [{}, { label: 'average', stroke: color, width: 2, points: { show: true, size: 5 } }];
  /** @type {object[]} */
  const bands = [];
  if (kind === 'temperature') {
    series.push({ label: 'min', stroke: 'rgba(232,89,12,.35)', width: 1 }, { label: 'max', stroke: 'rgba(232,89,12,.35)', width: 1 });
    bands.push({ series: [3, 2], fill: 'rgba(232,89,12,.12)' });
  }
  return {
    width,
    height: 170,
    series,
    bands,
    legend: { show: false },
    cursor: { points: { size: 6 } },
    axes: [
      { stroke: '#667085', grid: { stroke: '#eef1f5' } },
      { stroke: '#667085', grid: { stroke: '#eef1f5' }, size: 44 },
    ],
    scales: { x: { time: true, range: () => [chartWindow.from / 1000, chartWindow.to / 1000] } },
  };
}

/**
 * @param {string} kind
 * @param {number[][]} data
 */
function drawChart(kind, data) {
  const host = $(`#chart-${kind}`);
  const width = Math.max(260, host.clientWidth);
  if (charts[kind] === undefined || charts[kind].width !== width) {
    charts[kind]?.destroy();
    charts[kind] = new uPlot(chartOptions(kind, width), data, host);
  } else charts[kind].setData(data);
}

async function drawCharts() {
  const select = /** @type {HTMLSelectElement} */ ($('#chart-device'));
  const ids = snapshot.devices.map((d) => d.deviceId);
  if (!ids.includes(chartDevice)) chartDevice = ids[0] ?? '';
  if ([...select.options].map((o) => o.value).join() !== ids.join()) select.replaceChildren(...ids.map((id) => el('option', { value: id }, id)));
  select.value = chartDevice;
  if (chartDevice === '') return;
  const response = await fetch(`/api/devices/${encodeURIComponent(chartDevice)}/aggregates?minutes=60`);
  if (!response.ok) return;
  const { rows, from, to } =
    /** @type {{ rows: Array<{ readingType: string, windowEnd: number, avg: number, min: number, max: number }>, from: number, to: number }} */ (
      await response.json()
    );
  // The last hour at most, and at least the last ten minutes: a young device's minutes fill the width.
  const first = rows[0] === undefined ? from : rows[0].windowEnd - 60_000;
  chartWindow.from = Math.max(from, Math.min(first, to - 10 * 60_000));
  chartWindow.to = to;
  const byType = (/** @type {string} */ type) => rows.filter((r) => r.readingType === type);
  const t = byType('Temperature');
  const h = byType('Humidity');
  $('#chart-empty').hidden = rows.length > 0;
  $('#charts').hidden = rows.length === 0;
  if (rows.length === 0) return;
  drawChart('temperature', [t.map((r) => r.windowEnd / 1000), t.map((r) => r.avg), t.map((r) => r.min), t.map((r) => r.max)]);
  drawChart('humidity', [h.map((r) => r.windowEnd / 1000), h.map((r) => r.avg)]);
}

/** @param {string} deviceId */
function selectChartDevice(deviceId) {
  chartDevice = deviceId;
  drawDevices();
  void drawCharts();
}

// ---- actions ----

/**
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<{ ok: boolean, answer: Answer }>}
 */
async function post(path, body = {}) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({ ok: false, error: `the server answered ${response.status}` }));
  return { ok: response.ok && answer.ok !== false, answer };
}

const refusal = (/** @type {Answer} */ answer) =>
  Array.isArray(answer.issues)
    ? answer.issues.map((i) => (i.path.startsWith('(') ? i.message : `${i.path}: ${i.message}`)).join('\n')
    : (answer.error ?? 'refused');

/** @type {ReturnType<typeof setTimeout> | undefined} */
let noticeTimer;
/**
 * @param {string} text
 */
function notify(text, kind = 'ok') {
  const notice = $('#notice');
  notice.textContent = text;
  notice.dataset['kind'] = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.hidden = true), 6000);
}

/** @param {DeviceRow} device */
async function register(device) {
  const { ok, answer } = await post(`/api/devices/${encodeURIComponent(device.deviceRecordId ?? '')}/register`);
  notify(
    ok ? `${device.deviceId}: ${answer.result?.message}` : `${device.deviceId}: ${refusal(answer)}`,
    ok && answer.result?.status === 192350003 ? 'ok' : 'error',
  );
  await refresh();
}

/** @param {AlertRow} alert */
async function closeAlert(alert) {
  const { ok, answer } = await post(`/api/alerts/${encodeURIComponent(alert.alertId)}/close`);
  notify(ok ? `Alert on ${alert.deviceId} closed.` : refusal(answer), ok ? 'ok' : 'error');
  await refresh();
}

const dialog = () => /** @type {HTMLDialogElement} */ ($('#action-dialog'));
/** @typedef {Record<string, FormDataEntryValue | undefined>} FormValues */
/** @type {(data: FormValues) => Promise<Submitted>} */
let submitAction = async () => ({ ok: false, answer: {} });

/**
 * @param {{ title: string, subtitle: string, submit: string, fields: HTMLElement[], onSubmit: (data: FormValues) => Promise<Submitted> }} dialogSpec
 */
function openDialog({ title, subtitle, submit, fields, onSubmit }) {
  $('#action-title').textContent = title;
  $('#action-subtitle').textContent = subtitle;
  $('#action-submit').textContent = submit;
  $('#action-fields').replaceChildren(...fields);
  const message = $('#action-form .message');
  message.textContent = '';
  submitAction = onSubmit;
  dialog().showModal();
  const first = document.querySelector('#action-fields input');
  if (first instanceof HTMLInputElement) first.focus();
}

const field = (/** @type {string} */ label, /** @type {HTMLElement} */ input, /** @type {string | undefined} */ hint = undefined) =>
  el('label', { class: 'field' }, el('span', {}, label), input, hint ? el('small', {}, hint) : null);

/**
 * @typedef {{ key: string, label: string, kind: string, required: boolean, placeholder?: string, hint?: string }} ParameterForm
 * @param {AlertRow} alert
 */
async function openCommandDialog(alert) {
  const response = await fetch(`/api/devices/${encodeURIComponent(alert.deviceId)}/commands`);
  const { deviceType, forms } = /** @type {{ deviceType: string, forms: Array<{ name: string, parameters: ParameterForm[] }> }} */ (await response.json());
  $('#command-names').replaceChildren(...forms.map((f) => el('option', { value: f.name })));
  const parameters = el('div', { class: 'parameters' });
  const name = /** @type {HTMLInputElement} */ (
    el('input', { name: 'commandName', list: 'command-names', autocomplete: 'off', placeholder: forms.map((f) => f.name).join(', ') })
  );
  const showParameters = () => {
    const form = forms.find((f) => f.name === name.value.trim());
    parameters.replaceChildren(
      ...(form?.parameters ?? []).map((p) =>
        field(
          `${p.label}${p.required ? '' : ' (optional)'}`,
          el('input', {
            name: `parameter:${p.key}`,
            dataset: { kind: p.kind },
            inputmode: p.kind === 'number' ? 'decimal' : undefined,
            placeholder: p.placeholder ?? '',
          }),
          p.hint,
        ),
      ),
    );
  };
  name.addEventListener('input', showParameters);
  openDialog({
    title: `Send a command to ${alert.deviceId}`,
    subtitle: `${deviceType} commands: ${forms.map((f) => f.name).join(', ') || 'none known'}. Alert: ${alert.description}`,
    submit: 'Send',
    fields: [field('Command', name), parameters],
    onSubmit: async (data) => {
      /** @type {Record<string, FormDataEntryValue>} */
      const params = {};
      for (const [key, value] of Object.entries(data)) if (value !== undefined && key.startsWith('parameter:')) params[key.slice('parameter:'.length)] = value;
      const result = await post(`/api/alerts/${encodeURIComponent(alert.alertId)}/commands`, { commandName: data.commandName ?? '', parameters: params });
      return { ...result, done: `${data.commandName} sent to ${alert.deviceId}.` };
    },
  });
}

/**
 * @param {AlertRow} alert
 * @param {'case' | 'work-order'} kind
 */
function openTextDialog(alert, kind) {
  const isCase = kind === 'case';
  const name = isCase ? 'title' : 'summary';
  openDialog({
    title: isCase ? `Create a case for ${alert.deviceId}` : `Create a work order for ${alert.deviceId}`,
    subtitle: alert.description,
    submit: isCase ? 'Create case' : 'Create work order',
    fields: [field(isCase ? 'Case title' : 'Work order summary', el('input', { name, value: alert.description }))],
    onSubmit: async (data) => ({
      ...(await post(`/api/alerts/${encodeURIComponent(alert.alertId)}/${kind}`, { [name]: data[name] ?? '' })),
      done: isCase ? 'Case created.' : 'Work order created.',
    }),
  });
}

$('#action-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(/** @type {HTMLFormElement} */ (event.target)));
  const button = /** @type {HTMLButtonElement} */ ($('#action-submit'));
  button.disabled = true;
  try {
    const { ok, answer, done } = await submitAction(data);
    if (ok) {
      dialog().close();
      notify(done ?? 'Done.');
      await refresh();
    } else $('#action-form .message').textContent = refusal(answer);
  } finally {
    button.disabled = false;
  }
});
$('#action-cancel').addEventListener('click', () => dialog().close());
$('#chart-device').addEventListener('change', (event) => selectChartDevice(/** @type {HTMLSelectElement} */ (event.target).value));

// ---- live ----

/** @type {Promise<void> | undefined} */
let refreshing;
let again = false;
/** @returns {Promise<void>} */
async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const response = await fetch('/api/snapshot');
      if (!response.ok) return;
      snapshot = /** @type {Snapshot} */ (await response.json());
      drawSummary();
      drawDevices();
      drawAlerts();
      drawCommands();
      await drawCharts();
    } while (again);
  })().finally(() => (refreshing = undefined));
  return refreshing;
}

function connectLive() {
  const live = $('#live');
  /** @type {(state: string, label: string) => void} */
  const setLive = (state, label) => {
    live.dataset.state = state;
    $('.label', live).textContent = label;
  };
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    setLive('open', 'Live');
    void refresh();
  });
  source.addEventListener('error', () => setLive('closed', 'Reconnecting…'));
  source.addEventListener('changed', () => void refresh());
  source.addEventListener('tick', () => void refresh());
}

connectLive();
