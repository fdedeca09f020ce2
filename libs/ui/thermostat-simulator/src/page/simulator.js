// The simulator page: cards built once per thermostat and updated in place, so a value being
// typed in a card's form survives the live updates. Every change goes through the server,
// which checks it; a refusal is shown next to the form that sent it.

// Type-checked with JSDoc (tsconfig.page.json); the shapes are those the server's JSON carries.
/**
 * @typedef {{ name?: string, outcome: 'completed' | 'rejected', reason?: string, receivedAt: number }} ReceivedCommand
 * @typedef {{ deviceId: string, temperature: number, humidity: number, target: number, driftPerMinute: number, telemetrySent: number,
 *   paused: boolean, connection: string, connectionError?: string, lastCommand?: ReceivedCommand, lastNotification?: { message: string, receivedAt: number } }} Device
 * @typedef {{ ok?: boolean, error?: string, issues?: Array<{ path: string, message: string }>, device?: Device }} Answer
 */

/** @type {Map<string, HTMLElement>} */
const cards = new Map();
/** @type {Map<string, Device>} */
const devices = new Map();
let threshold = 70;

/**
 * The element a selector names; the page's markup has it, so its absence is a bug worth an exception.
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
const $ = (selector, root = document) => {
  const found = root.querySelector(selector);
  if (!(found instanceof HTMLElement)) throw new Error(`the page has no ${selector}`);
  return found;
};

/**
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<{ ok: boolean, answer: Answer }>}
 */
async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({ ok: false, error: `the server answered ${response.status}` }));
  return { ok: response.ok && answer.ok !== false, answer };
}

/** @param {Answer} answer */
function describeRefusal(answer) {
  if (Array.isArray(answer.issues)) return answer.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return answer.error ?? 'refused';
}

/**
 * @param {HTMLElement} element
 * @param {string} text
 */
function showMessage(element, text, kind = 'error') {
  element.textContent = text;
  element.dataset.kind = kind;
}

const time = (/** @type {number} */ ms) => new Date(ms).toLocaleTimeString();
const signed = (/** @type {number} */ n) => (n > 0 ? `+${n}` : String(n));

/** @param {Device} device */
function render(device) {
  devices.set(device.deviceId, device);
  let card = cards.get(device.deviceId);
  if (card === undefined) {
    card = /** @type {HTMLElement} */ (/** @type {HTMLTemplateElement} */ ($('#card')).content.firstElementChild?.cloneNode(true));
    card.dataset.deviceId = device.deviceId;
    wire(card, device.deviceId);
    cards.set(device.deviceId, card);
    const fleet = $('#fleet');
    const next = [...fleet.children].find((c) => c instanceof HTMLElement && naturalCompare(c.dataset['deviceId'] ?? '', device.deviceId) > 0);
    fleet.insertBefore(card, next ?? null);
  }
  const shown = card;
  /** @type {(field: string, text: string) => void} */
  const set = (field, text) => {
    const el = $(`[data-field="${field}"]`, shown);
    if (el.textContent !== text) el.textContent = text;
  };
  set('deviceId', device.deviceId);
  set('temperature', device.temperature.toFixed(1));
  set('humidity', `${device.humidity.toFixed(1)} %`);
  set('target', `${device.target.toFixed(1)}°`);
  set('drift', device.driftPerMinute === 0 ? 'none' : `${signed(device.driftPerMinute)}°/min`);
  set('sent', String(device.telemetrySent));
  const connection = device.paused ? 'paused' : device.connection;
  const badge = $('[data-field="connection"]', card);
  /** @type {Record<string, string>} */
  const labels = { connected: 'Connected', connecting: 'Connecting', disconnected: 'Disconnected', failed: 'Failed', paused: 'Paused' };
  badge.textContent = labels[connection] ?? connection;
  badge.dataset.state = connection;
  badge.title = device.connectionError ?? '';
  const c = device.lastCommand;
  set(
    'command',
    c === undefined ? 'none yet' : `${c.name ?? 'unreadable'} · ${c.outcome === 'completed' ? 'done' : `rejected: ${c.reason}`} · ${time(c.receivedAt)}`,
  );
  $('[data-field="command"]', card).dataset.outcome = c?.outcome ?? '';
  const n = device.lastNotification;
  set('notification', n === undefined ? 'none yet' : `“${n.message}” · ${time(n.receivedAt)}`);
  card.classList.toggle('hot', device.temperature > threshold);
  card.classList.toggle('paused', device.paused);
  // The gauge spans 40°–100°; the threshold mark sits where the cloud starts alerting.
  const at = (/** @type {number} */ t) => `${Math.max(0, Math.min(100, ((t - 40) / 60) * 100))}%`;
  $('.gauge .fill', card).style.width = at(device.temperature);
  $('.gauge .threshold', card).style.left = at(threshold);
  $('[data-action="pause"]', card).textContent = device.paused ? 'Resume' : 'Pause';
  $('[data-action="reconnect"]', card).hidden = !(device.connection === 'failed' || device.connection === 'disconnected');
}

/** @param {string} deviceId */
function remove(deviceId) {
  cards.get(deviceId)?.remove();
  cards.delete(deviceId);
  devices.delete(deviceId);
}

function summarise() {
  const all = [...devices.values()];
  const connected = all.filter((d) => d.connection === 'connected' && !d.paused).length;
  const paused = all.filter((d) => d.paused).length;
  const hot = all.filter((d) => d.temperature > threshold).length;
  $('#summary').innerHTML = '';
  /** @type {Array<[string, number, string]>} */
  const stats = [
    ['thermostats', all.length, ''],
    ['sending', connected, 'ok'],
    ['paused', paused, paused ? 'warn' : ''],
    [`over ${threshold}°`, hot, hot ? 'hot' : ''],
  ];
  for (const [label, value, kind] of stats) {
    const item = document.createElement('span');
    item.className = `stat ${kind}`;
    item.innerHTML = '<b></b> <span></span>';
    $('b', item).textContent = String(value);
    $('span', item).textContent = label;
    $('#summary').append(item);
  }
  $('#empty').hidden = all.length > 0;
}

/**
 * @param {HTMLElement} card
 * @param {string} deviceId
 */
function wire(card, deviceId) {
  const message = $('.message', card);
  const base = `/api/devices/${encodeURIComponent(deviceId)}`;
  /** @type {(path: string, body: unknown) => Promise<void>} */
  const act = async (path, body) => {
    const { ok, answer } = await post(`${base}/${path}`, body);
    if (ok) {
      showMessage(message, '');
      if (answer.device) render(answer.device);
      summarise();
    } else showMessage(message, describeRefusal(answer));
  };
  for (const form of card.querySelectorAll('form')) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(form));
      void act(form.dataset['action'] ?? '', data);
    });
  }
  $('[data-action="pause"]', card).addEventListener('click', () => void act('pause', { paused: !devices.get(deviceId)?.paused }));
  $('[data-action="reconnect"]', card).addEventListener('click', () => void act('reconnect', {}));
  $('[data-action="remove"]', card).addEventListener('click', async () => {
    const { ok, answer } = await post(`${base}/remove`, {});
    if (ok) {
      remove(deviceId);
      summarise();
    } else showMessage(message, describeRefusal(answer));
  });
}

/**
 * @param {string} a
 * @param {string} b
 */
function naturalCompare(a, b) {
  return a.localeCompare(b, undefined, { numeric: true });
}

async function loadFleet() {
  const response = await fetch('/api/fleet');
  const body = /** @type {{ threshold: number, devices: Device[] }} */ (await response.json());
  threshold = body.threshold;
  const seen = new Set(body.devices.map((d) => d.deviceId));
  for (const id of [...cards.keys()]) if (!seen.has(id)) remove(id);
  for (const device of body.devices) render(device);
  summarise();
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
    void loadFleet();
  });
  source.addEventListener('error', () => setLive('closed', 'Reconnecting…'));
  source.addEventListener('fleet', (event) => {
    const { changed, removed } = /** @type {{ changed: Device[], removed: string[] }} */ (JSON.parse(/** @type {MessageEvent<string>} */ (event).data));
    for (const id of removed) remove(id);
    for (const device of changed) render(device);
    summarise();
  });
}

$('#add-device').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const message = $('.message', form);
  const { ok, answer } = await post('/api/devices', Object.fromEntries(new FormData(form)));
  if (ok && answer.device !== undefined) {
    render(answer.device);
    summarise();
    showMessage(message, `Added ${answer.device.deviceId}.`, 'ok');
    form.reset();
  } else showMessage(message, describeRefusal(answer));
});

connectLive();
