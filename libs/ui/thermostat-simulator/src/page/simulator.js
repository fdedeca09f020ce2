// The simulator page: cards built once per thermostat and updated in place, so a value being
// typed in a card's form survives the live updates. Every change goes through the server,
// which checks it; a refusal is shown next to the form that sent it.

/** @type {Map<string, HTMLElement>} */
const cards = new Map();
/** @type {Map<string, any>} */
const devices = new Map();
let threshold = 70;

const $ = (selector, root = document) => root.querySelector(selector);

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({ ok: false, error: `the server answered ${response.status}` }));
  return { ok: response.ok && answer.ok !== false, answer };
}

function describeRefusal(answer) {
  if (Array.isArray(answer.issues)) return answer.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return answer.error ?? 'refused';
}

function showMessage(element, text, kind = 'error') {
  element.textContent = text;
  element.dataset.kind = kind;
}

const time = (ms) => new Date(ms).toLocaleTimeString();
const signed = (n) => (n > 0 ? `+${n}` : String(n));

function render(device) {
  devices.set(device.deviceId, device);
  let card = cards.get(device.deviceId);
  if (card === undefined) {
    card = /** @type {HTMLElement} */ ($('#card').content.firstElementChild.cloneNode(true));
    card.dataset.deviceId = device.deviceId;
    wire(card, device.deviceId);
    cards.set(device.deviceId, card);
    const fleet = $('#fleet');
    const next = [...fleet.children].find((c) => naturalCompare(c.dataset.deviceId, device.deviceId) > 0);
    fleet.insertBefore(card, next ?? null);
  }
  const set = (field, text) => {
    const el = $(`[data-field="${field}"]`, card);
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
  badge.textContent = { connected: 'Connected', connecting: 'Connecting', disconnected: 'Disconnected', failed: 'Failed', paused: 'Paused' }[connection] ?? connection;
  badge.dataset.state = connection;
  badge.title = device.connectionError ?? '';
  const c = device.lastCommand;
  set('command', c === undefined ? 'none yet' : `${c.name ?? 'unreadable'} · ${c.outcome === 'completed' ? 'done' : `rejected: ${c.reason}`} · ${time(c.receivedAt)}`);
  $('[data-field="command"]', card).dataset.outcome = c?.outcome ?? '';
  const n = device.lastNotification;
  set('notification', n === undefined ? 'none yet' : `“${n.message}” · ${time(n.receivedAt)}`);
  card.classList.toggle('hot', device.temperature > threshold);
  card.classList.toggle('paused', device.paused);
  // The gauge spans 40°–100°; the threshold mark sits where the cloud starts alerting.
  const at = (t) => `${Math.max(0, Math.min(100, ((t - 40) / 60) * 100))}%`;
  $('.gauge .fill', card).style.width = at(device.temperature);
  $('.gauge .threshold', card).style.left = at(threshold);
  $('[data-action="pause"]', card).textContent = device.paused ? 'Resume' : 'Pause';
  $('[data-action="reconnect"]', card).hidden = !(device.connection === 'failed' || device.connection === 'disconnected');
}

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
  for (const [label, value, kind] of [['thermostats', all.length, ''], ['sending', connected, 'ok'], ['paused', paused, paused ? 'warn' : ''], [`over ${threshold}°`, hot, hot ? 'hot' : '']]) {
    const item = document.createElement('span');
    item.className = `stat ${kind}`;
    item.innerHTML = '<b></b> <span></span>';
    item.querySelector('b').textContent = String(value);
    item.querySelector('span').textContent = label;
    $('#summary').append(item);
  }
  $('#empty').hidden = all.length > 0;
}

function wire(card, deviceId) {
  const message = $('.message', card);
  const base = `/api/devices/${encodeURIComponent(deviceId)}`;
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
      void act(form.dataset.action, data);
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

function naturalCompare(a, b) {
  return a.localeCompare(b, undefined, { numeric: true });
}

async function loadFleet() {
  const response = await fetch('/api/fleet');
  const body = await response.json();
  threshold = body.threshold;
  const seen = new Set(body.devices.map((d) => d.deviceId));
  for (const id of [...cards.keys()]) if (!seen.has(id)) remove(id);
  for (const device of body.devices) render(device);
  summarise();
}

function connectLive() {
  const live = $('#live');
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
    const { changed, removed } = JSON.parse(event.data);
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
  if (ok) {
    render(answer.device);
    summarise();
    showMessage(message, `Added ${answer.device.deviceId}.`, 'ok');
    form.reset();
  } else showMessage(message, describeRefusal(answer));
});

connectLive();
