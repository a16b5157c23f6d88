// Helpers shared by the visitor page and the owner inbox.
import { t, lang, apply, switcher } from './i18n.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const MAX_LEN = 4096;

export function boot() {
  switcher($('#lang'));
  apply();
}

// Resolves to {status, data, headers}; status 0 means the request never reached the server,
// so callers can tell an outage from an answer.
export async function request(method, path, { body, headers = {}, token } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = `Bearer ${token}`;
  try {
    const res = await fetch(path, {
      method, headers: h, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    const text = res.status === 304 ? '' : await res.text();
    try { data = text ? JSON.parse(text) : null; } catch { /* a proxy's HTML error page */ }
    return { status: res.status, data, headers: res.headers };
  } catch {
    return { status: 0, data: null, headers: new Headers() };
  }
}

export function wsUrl(path, query) {
  const u = new URL(path, location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  // Tests pin a gateway replica with ?replica= on the page; only the socket carries it on.
  const replica = new URLSearchParams(location.search).get('replica');
  if (replica) u.searchParams.set('replica', replica);
  return u.href;
}

export function fmtTime(iso) {
  // Trim microseconds: not every engine parses more than three fractional digits.
  const d = new Date(String(iso).replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(d.getTime())) return '';
  const today = d.toDateString() === new Date().toDateString();
  const opts = today ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(lang(), opts).format(d);
}

export function show(el, on = true) { el.hidden = !on; }

// Profile fields as the API names them; both the activation and the profile forms are built
// from this list so labels, autocomplete hints and error slots stay consistent.
const FIELDS = {
  phone_number: ['tel', 'tel'], password: ['password', 'new-password'],
  full_name: ['text', 'name'], phone_number_2: ['tel', 'tel'], car_model: ['text', 'off'],
  car_plate_number: ['text', 'off'], instagram: ['text', 'off'], telegram: ['text', 'off'],
  whatsapp: ['tel', 'off'], is_profile_public: ['checkbox'],
};

export function buildFields(container, names, required = []) {
  for (const name of names) {
    const [type, ac] = FIELDS[name];
    const id = `${container.id}-${name}`;
    const wrap = document.createElement('div');
    wrap.className = type === 'checkbox' ? 'field check' : 'field';
    const label = document.createElement('label');
    label.htmlFor = id;
    label.innerHTML = `<span data-i18n="f_${name}"></span>`;
    if (type !== 'checkbox' && !required.includes(name)) label.innerHTML += ' <span class="muted" data-i18n="optional"></span>';
    const input = document.createElement('input');
    Object.assign(input, { id, name, type });
    input.dataset.testid = `f-${name}`;
    if (type === 'checkbox') input.checked = true;
    else { input.autocomplete = ac; input.maxLength = 255; }
    if (required.includes(name)) input.required = true;
    const err = document.createElement('p');
    err.className = 'err';
    err.id = `${id}-err`;
    err.dataset.err = name;
    input.setAttribute('aria-describedby', err.id);
    if (type === 'checkbox') wrap.append(input, ' ', label, err);
    else wrap.append(label, input, err);
    container.append(wrap);
  }
}

export function readForm(form, { omitEmpty = false } = {}) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else {
      const v = el.type === 'password' ? el.value : el.value.trim();
      if (v || !omitEmpty || el.required) out[el.name] = v;
    }
  }
  return out;
}

export function fillForm(form, data) {
  for (const el of form.elements) {
    if (!el.name || !(el.name in data)) continue;
    if (el.type === 'checkbox') el.checked = !!data[el.name];
    else el.value = data[el.name] ?? '';
  }
}

// Puts each message of a 400 body next to its field; anything without a field of its own
// (non_field_errors, detail, user_id) goes to the form-level slot.
export function showErrors(form, formErr, data) {
  for (const slot of form.querySelectorAll('[data-err]')) slot.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const rest = [];
  let first = null;
  for (const [key, val] of Object.entries(data || {})) {
    if (key === 'code' || key === 'messages') continue;
    const msgs = (Array.isArray(val) ? val : [val]).map((m) => (typeof m === 'string' ? m : JSON.stringify(m)));
    const slot = form.querySelector(`[data-err="${CSS.escape(key)}"]`);
    if (!slot) { rest.push(...msgs); continue; }
    slot.textContent = msgs.join(' ');
    const input = form.elements[key];
    input?.setAttribute('aria-invalid', 'true');
    first ||= input;
  }
  formErr.textContent = rest.join(' ');
  first?.focus();
}

export function errorText(r) {
  if (r.status === 0) return t('error_network');
  const d = r.data;
  if (d && typeof d.detail === 'string') return d.detail;
  if (r.status === 400 && d && typeof d === 'object') return Object.values(d).flat().join(' ');
  return t('error_generic');
}

// A WebSocket that comes back by itself: exponential backoff from 0.5 s to 10 s with jitter,
// so a gateway restart is not met by every client at the same instant. `url(failures,
// lastClose)` is async and called before each attempt, which lets the owner refresh an expired
// access token first; `failures` counts the attempts in a row that never opened, `lastClose`
// is {code, reason} of the previous socket (1008 "token expired", 1012 restart, ...).
// `protocols(failures)` names the subprotocols to ask for.
export class LiveSocket {
  constructor({ url, protocols, onFrame, onOpen, onStatus }) {
    Object.assign(this, {
      url, protocols, onFrame, onOpen, onStatus, ws: null, attempt: 0, failures: 0, lastClose: null, stopped: true,
    });
    this.wake = () => { if (!this.ws && !this.stopped) { this.attempt = 0; this.connect(); } };
    this.wakeIfShown = () => { if (!document.hidden) this.wake(); };
  }

  // The subprotocol the server chose for the open socket ('' when it chose none).
  get protocol() { return this.ws?.readyState === WebSocket.OPEN ? this.ws.protocol : ''; }

  start() {
    this.stopped = false;
    addEventListener('online', this.wake);
    document.addEventListener('visibilitychange', this.wakeIfShown);
    this.connect();
  }

  async connect() {
    clearTimeout(this.timer);
    if (this.stopped || this.ws || this.resolving) return;
    this.resolving = true;
    let url = null;
    try { url = await this.url(this.failures, this.lastClose); } finally { this.resolving = false; }
    if (this.stopped || this.ws) return;
    if (!url) { this.retry(); return; }
    const protocols = this.protocols?.(this.failures) || [];
    const ws = protocols.length ? new WebSocket(url, protocols) : new WebSocket(url);
    this.ws = ws;
    let openedAt = 0;
    this.onStatus?.('connecting');
    ws.onopen = () => { openedAt = Date.now(); this.failures = 0; this.onStatus?.('online'); this.onOpen?.(); };
    ws.onmessage = (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      if (data && typeof data === 'object') this.onFrame(data);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.lastClose = { code: e.code, reason: e.reason };
      if (!openedAt) this.failures += 1;
      // A socket that dies right after opening must not reset the backoff, or a server that
      // accepts and then drops would be hammered.
      else if (Date.now() - openedAt > 5000) this.attempt = 0;
      this.onStatus?.('offline');
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    const delay = Math.min(10000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  send(obj) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener('online', this.wake);
    document.removeEventListener('visibilitychange', this.wakeIfShown);
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }
}
