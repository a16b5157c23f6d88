// The owner's inbox: login, room list (polled), conversations, profile.
import { t, apply, onLangChange } from './i18n.js';
import {
  $, boot, request, wsUrl, show, fmtTime, buildFields, readForm, fillForm, showErrors, errorText,
  ChatLog, LiveSocket, wireChat, MAX_LEN,
} from './api.js';

boot();
const enc = encodeURIComponent;
const VIEWS = ['login', 'inbox', 'room', 'prof'];

// Tokens go to sessionStorage, not localStorage: they are bearer credentials for the whole
// account, and the inbox is often opened on a shared or borrowed device. sessionStorage dies
// with the tab, so closing it logs out; localStorage would keep the account open for good.
const TOK = 'carinfo.tokens';
let tokens = null;
try { tokens = JSON.parse(sessionStorage.getItem(TOK)); } catch { /* storage blocked: log in each time */ }

function saveTokens(tk) {
  tokens = tk;
  try {
    if (tk) sessionStorage.setItem(TOK, JSON.stringify(tk));
    else sessionStorage.removeItem(TOK);
  } catch { /* kept in memory only */ }
}

let refreshing = null;
// One refresh at a time: parallel 401s share it, and with rotation a second concurrent
// refresh would present an already-used refresh token.
function refresh() {
  refreshing ||= (async () => {
    if (!tokens?.refresh) return 'fail';
    const r = await request('POST', '/api/token/refresh/', { body: { refresh: tokens.refresh } });
    if (!tokens) return 'fail';
    if (r.status === 200 && r.data?.access) {
      saveTokens({ access: r.data.access, refresh: r.data.refresh || tokens.refresh });
      return 'ok';
    }
    return r.status === 0 || r.status >= 500 ? 'down' : 'fail';
  })().finally(() => { refreshing = null; });
  return refreshing;
}

async function authed(method, path, opts = {}) {
  if (!tokens) return { status: 401, data: null, headers: new Headers() };
  const used = tokens.access;
  const r = await request(method, path, { ...opts, token: used });
  if (r.status !== 401 || !tokens) return r;
  // Another call may have refreshed while this one was in flight.
  const state = tokens.access !== used ? 'ok' : await refresh();
  if (state === 'down') return r;
  if (state === 'ok' && tokens) {
    const again = await request(method, path, { ...opts, token: tokens.access });
    if (again.status !== 401) return again;
  }
  logout('session_expired');
  return r;
}

function jwtExp(tok) {
  try {
    return JSON.parse(atob(tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  } catch { return 0; }
}

let noticeKey = '';
function notice(key = '') { noticeKey = key; $('#notice').textContent = key ? t(key) : ''; }

function logout(reason) {
  saveTokens(null);
  etag = null; rooms = [];
  clearTimeout(pollTimer);
  closeRoom();
  $('#rooms').replaceChildren();
  notice(reason);
  history.replaceState(null, '', location.pathname + location.search);
  route();
}
$('#logout').addEventListener('click', () => {
  // End the session on the server too, so the refresh token (and any token rotated from it)
  // is useless to whoever finds it later. Fire and forget: logging out must not wait on it.
  if (tokens?.refresh) request('POST', '/api/token/blacklist/', { body: { refresh: tokens.refresh } });
  logout();
});

// ---- login

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const btn = e.target.querySelector('[type=submit]');
  const err = $('#login-err');
  btn.disabled = true;
  err.textContent = '';
  const r = await request('POST', '/api/login/', { body: { phone_number: $('#l-phone').value.trim(), password: $('#l-pass').value } });
  btn.disabled = false;
  if (r.status === 200 && r.data?.tokens?.access) {
    saveTokens({ access: r.data.tokens.access, refresh: r.data.tokens.refresh });
    $('#l-pass').value = '';
    notice('');
    route();
    return;
  }
  if (r.status === 429) {
    const h = r.headers.get('Retry-After') || '';
    let s = /^\d+$/.test(h) ? Number(h) : Math.ceil((Date.parse(h) - Date.now()) / 1000);
    if (!(s > 0)) s = 60;
    err.textContent = t('throttled', { s });
    btn.disabled = true;
    setTimeout(() => { btn.disabled = false; }, s * 1000);
  } else err.textContent = r.status === 401 ? t('bad_login') : errorText(r);
});

// ---- room list

let rooms = []; let etag = null; let pollTimer = null; let polling = false;

async function poll() {
  clearTimeout(pollTimer);
  if (!tokens || polling) return; // the poll in flight schedules the next one
  if (!document.hidden) {
    polling = true;
    try {
      const r = await authed('GET', '/api/chat/rooms/', { headers: etag ? { 'If-None-Match': etag } : {} });
      if (r.status === 200 && Array.isArray(r.data)) {
        etag = r.headers.get('ETag');
        rooms = r.data; // already newest activity first
        renderRooms();
      }
    } finally { polling = false; }
  }
  clearTimeout(pollTimer);
  if (tokens) pollTimer = setTimeout(poll, 3000);
}
document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });

function roomItem(r) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.href = `#room/${enc(r.id)}`;
  a.className = r.is_active === false ? 'room closed' : 'room';
  a.dataset.testid = 'room';
  a.dataset.roomId = r.id;
  a.innerHTML = '<span class="who"></span><time></time><span class="preview"></span>';
  a.querySelector('.who').textContent = r.visitor_name || t('visitor');
  const lm = r.last_message;
  const time = a.querySelector('time');
  time.dateTime = lm?.created_at || r.updated_at || '';
  time.textContent = fmtTime(time.dateTime);
  a.querySelector('.preview').textContent = lm ? `${lm.sender_type === 'owner' ? `${t('you')}: ` : ''}${lm.content}` : '';
  if (r.unread_count > 0) {
    const b = document.createElement('span');
    b.className = 'badge';
    b.dataset.testid = 'unread';
    b.textContent = r.unread_count;
    b.setAttribute('aria-label', t('unread', { n: r.unread_count }));
    a.append(b);
  }
  li.append(a);
  return li;
}

function renderRooms() {
  // Polling re-renders the list; keep keyboard focus on the room it was on.
  const focused = document.activeElement?.dataset?.roomId;
  show($('#no-rooms'), rooms.length === 0);
  show($('#rooms'), rooms.length > 0);
  $('#rooms').replaceChildren(...rooms.map(roomItem));
  if (focused) $(`[data-room-id="${CSS.escape(focused)}"]`)?.focus();
  if (cur) roomTitle();
}
onLangChange(() => { renderRooms(); setStatus(statusKey); notice(noticeKey); });

// ---- conversation

let cur = null; let statusKey = '';
const chatErr = (msg) => { $('#chat-err').textContent = msg; };
function setStatus(k) { statusKey = k; $('#chat-status').textContent = k ? t(k) : ''; }

function roomTitle() {
  const name = rooms.find((r) => r.id === cur.id)?.visitor_name || '';
  $('#room-h').textContent = name || t('visitor');
  if (name) cur.log.setName('visitor', name);
}

function openRoom(id) {
  const log = new ChatLog($('#log'), 'owner');
  const loadHistory = async () => {
    const r = await authed('GET', `/api/chat/rooms/${enc(id)}/messages/`);
    if (cur?.id !== id) return false;
    if (r.status === 200 && Array.isArray(r.data)) { r.data.forEach((m) => log.add(m)); return true; }
    if (r.status === 403 || r.status === 404) { cur.sock.stop(); setStatus(''); chatErr(t('room_gone')); return false; }
    return null;
  };
  const sock = new LiveSocket({
    url: async (failures) => {
      if (!tokens) return null;
      const exp = jwtExp(tokens.access);
      // The gateway accepts only live access tokens and a refused handshake has no status a
      // browser can read, so refresh when the token is about to expire or the last try failed.
      if ((exp && exp - Date.now() < 30000) || failures === 1) {
        if ((await refresh()) === 'fail') { logout('session_expired'); return null; }
      }
      return tokens && wsUrl(`/ws/chat/${enc(id)}/`, { token: tokens.access });
    },
    onStatus: setStatus,
  });
  const send = wireChat(log, sock, { history: loadHistory, onError: chatErr });
  cur = { id, log, sock, send };
  roomTitle();
  chatErr('');
  sock.start();
  loadHistory();
}

function closeRoom() {
  cur?.sock.stop();
  cur = null;
  setStatus('');
}

$('#send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const box = $('#text');
  const text = box.value.trim();
  chatErr('');
  if (!cur || !text) return;
  if (text.length > MAX_LEN) { chatErr(t('too_long')); return; }
  cur.send(text);
  box.value = '';
  box.focus();
});
$('#text').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('#send-form').requestSubmit(); }
});

// ---- profile

async function openProfile() {
  const form = $('#prof-form');
  if (!form.dataset.built) {
    buildFields($('#pf'), ['full_name', 'phone_number_2', 'car_model', 'car_plate_number', 'instagram',
      'telegram', 'whatsapp', 'is_profile_public']);
    apply($('#pf'));
    form.dataset.built = '1';
  }
  $('#pf-ok').textContent = '';
  const r = await authed('GET', '/api/profile/');
  if (r.status === 200 && r.data) fillForm(form, r.data);
  else showErrors(form, $('#pf-err'), { detail: errorText(r) });
}

$('#prof-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  $('#pf-ok').textContent = '';
  const r = await authed('PATCH', '/api/profile/', { body: readForm(form) });
  if (r.status === 200 && r.data) {
    fillForm(form, r.data);
    showErrors(form, $('#pf-err'), {});
    $('#pf-ok').textContent = t('saved');
  } else showErrors(form, $('#pf-err'), r.status === 400 && r.data ? r.data : { detail: errorText(r) });
});

// ---- views

function route() {
  closeRoom();
  for (const v of VIEWS) show($(`#${v}`), false);
  show($('#nav'), !!tokens);
  let view = 'login';
  if (tokens) {
    const m = location.hash.match(/^#room\/(.+)$/);
    if (m) { view = 'room'; openRoom(decodeURIComponent(m[1])); } else if (location.hash === '#profile') {
      view = 'prof';
      openProfile();
    } else view = 'inbox';
    poll();
  }
  show($(`#${view}`));
  // Moving focus to the new view's heading tells screen-reader users the page changed.
  if (routed) $(`#${view} h1`).focus();
  routed = true;
}
let routed = false;
addEventListener('hashchange', route);
route();
