// The owner's inbox: login, room list (live over the owner channel, polled while it is
// down), settings and notifications (inbox-settings.js), conversations with their controls
// (room-controls.js), profile.
import { t, apply, onLangChange } from './i18n.js';
import {
  $, boot, request, show, fmtTime, buildFields, readForm, fillForm, showErrors, errorText,
  LiveSocket, MAX_LEN,
} from './api.js';
import { ChatLog, RoomChat, Typing, outboxStore } from './chat.js';
import { tokens, saveTokens, authed, ownerWsUrl, onExpired } from './owner-session.js';
import { initSettings, loadSettings } from './inbox-settings.js';
import { initRoomControls, renderRoomState } from './room-controls.js';
import { disablePush, onOpenRequest } from './push.js';

boot();
const enc = encodeURIComponent;
const VIEWS = ['login', 'inbox', 'room', 'prof'];

onExpired(() => logout('session_expired'));

let noticeKey = '';
function notice(key = '') { noticeKey = key; $('#notice').textContent = key ? t(key) : ''; }

function logout(reason) {
  saveTokens(null);
  etag = null; rooms = [];
  roomFrames.clear();
  clearTimeout(pollTimer);
  stopChannel();
  closeRoom();
  $('#rooms').replaceChildren();
  notice(reason);
  history.replaceState(null, '', location.pathname + location.search);
  route();
}
$('#logout').addEventListener('click', async () => {
  // Whoever uses this browser next must not get the owner's notifications. This needs the
  // session, so it goes first, and it may take up to 3 s before logging out regardless.
  await Promise.race([disablePush().catch(() => {}), new Promise((r) => { setTimeout(r, 3000); })]);
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
// Room frames by room id, numbered, so a list fetched while frames arrived does not undo them.
const roomFrames = new Map(); let frameNo = 0; let fetchNo = 0; let shownFetch = 0;

const byActivity = (a, b) => (b.updated_at || '').localeCompare(a.updated_at || '') || (b.id || '').localeCompare(a.id || '');

async function fetchRooms() {
  const no = ++fetchNo; const framesBefore = frameNo;
  const r = await authed('GET', '/api/chat/rooms/', { headers: etag ? { 'If-None-Match': etag } : {} });
  if (r.status !== 200 || !Array.isArray(r.data) || no < shownFetch || !tokens) return;
  shownFetch = no;
  etag = r.headers.get('ETag');
  rooms = r.data; // already newest activity first
  for (const { room, no: n } of roomFrames.values()) {
    const listed = rooms.find((x) => x.id === room.id);
    if (n > framesBefore && (!listed || (room.updated_at || '') >= (listed.updated_at || ''))) upsertRoom(room);
  }
  renderRooms();
}

function upsertRoom(room) {
  const i = rooms.findIndex((x) => x.id === room.id);
  if (i >= 0) rooms[i] = room; else rooms.push(room);
  rooms.sort(byActivity);
}

// The polling fallback: only while the owner channel is down.
async function poll() {
  clearTimeout(pollTimer);
  if (!tokens || polling || channelUp) return; // the poll in flight schedules the next one
  if (!document.hidden) {
    polling = true;
    try { await fetchRooms(); } finally { polling = false; }
  }
  clearTimeout(pollTimer);
  if (tokens && !channelUp) pollTimer = setTimeout(poll, 3000);
}
document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });

// ---- owner channel: room updates, messages, typing and read marks of every room, pushed

let channel = null; let channelUp = false;
function channelState(state) { $('#inbox').dataset.channel = state; }

function startChannel() {
  if (channel) return;
  channel = new LiveSocket({
    url: (failures, lastClose) => ownerWsUrl('/ws/owner/', {}, failures, lastClose),
    onFrame: channelFrame,
    onOpen: async () => {
      // Connect first, then fetch: whatever changed before the socket opened is in the list,
      // whatever changes after arrives as a frame.
      channelUp = true;
      clearTimeout(pollTimer);
      await fetchRooms();
      if (channelUp) channelState('live');
    },
    onStatus: (s) => {
      if (s === 'online') return;
      channelUp = false;
      channelState(s);
      if (s === 'offline') poll();
    },
  });
  channel.start();
}

function stopChannel() {
  channel?.stop();
  channel = null; channelUp = false;
  channelState('offline');
}

function channelFrame(f) {
  if (f.type === 'room' && f.room?.id) {
    roomFrames.set(f.room.id, { room: f.room, no: ++frameNo });
    etag = null; // the list shown is no longer the one that ETag names
    upsertRoom(f.room);
    renderRooms();
  } else if (f.type === 'message' && f.message) {
    // The visitor's message ends their typing, in the row as in the conversation.
    if (f.message.sender_type === 'visitor') stopTyping(f.message.room_id);
    if (cur?.id === f.message.room_id) cur.chat.frame(f.message);
  } else if (f.type === 'typing' && f.sender_type === 'visitor') {
    showTyping(f.room_id);
  } else if (f.type === 'read' && f.sender_type === 'visitor') {
    const room = rooms.find((x) => x.id === f.room_id);
    if (room) room.visitor_last_read_id = f.message_id;
    if (cur?.id === f.room_id) cur.log.markSeen(f.message_id);
  }
}

// "typing…" in the room's row, and in its conversation when open, for a few seconds.
const typingRooms = new Map();
function showTyping(roomId) {
  if (cur?.id === roomId) cur.typing.show();
  clearTimeout(typingRooms.get(roomId));
  const had = typingRooms.has(roomId);
  typingRooms.set(roomId, setTimeout(() => { typingRooms.delete(roomId); rowTyping(roomId); }, 4000));
  if (!had) rowTyping(roomId);
}

function stopTyping(roomId) {
  if (!typingRooms.has(roomId)) return;
  clearTimeout(typingRooms.get(roomId));
  typingRooms.delete(roomId);
  rowTyping(roomId);
}

function rowTyping(roomId) {
  const a = $(`#rooms [data-room-id="${CSS.escape(roomId)}"]`);
  if (!a) return;
  a.querySelector('.typing')?.remove();
  a.classList.toggle('is-typing', typingRooms.has(roomId));
  if (typingRooms.has(roomId)) {
    // Takes the preview's place (the stylesheet hides the preview meanwhile).
    const s = document.createElement('span');
    s.className = 'typing';
    s.dataset.testid = 'room-typing';
    s.textContent = t('typing');
    a.querySelector('.preview').after(s);
  }
}

function roomItem(r) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.href = `#room/${enc(r.id)}`;
  a.className = r.is_active === false || r.is_blocked ? 'room closed' : 'room';
  a.dataset.testid = 'room';
  a.dataset.roomId = r.id;
  a.innerHTML = '<span class="who"></span><time></time><span class="preview"></span>';
  a.querySelector('.who').textContent = r.visitor_name || t('visitor');
  const lm = r.last_message;
  const time = a.querySelector('time');
  time.dateTime = lm?.created_at || r.updated_at || '';
  time.textContent = fmtTime(time.dateTime);
  a.querySelector('.preview').textContent = lm ? `${lm.sender_type === 'owner' ? `${t('you')}: ` : ''}${lm.content}` : '';
  if (r.is_blocked || r.is_active === false) {
    const s = document.createElement('span');
    s.className = 'room-flag';
    s.dataset.testid = 'room-flag';
    s.textContent = t(r.is_blocked ? 'blocked' : 'closed');
    a.append(s);
  }
  if (r.unread_count > 0) {
    // The number is for the eye; the sentence is what a screen reader says (aria-label on a
    // plain span is not announced).
    const b = document.createElement('span');
    b.className = 'badge';
    b.dataset.testid = 'unread';
    b.innerHTML = '<span aria-hidden="true"></span><span class="sr"></span>';
    b.firstChild.textContent = r.unread_count;
    b.lastChild.textContent = t('unread', { n: r.unread_count });
    a.append(b);
  }
  li.append(a);
  return li;
}

function renderRooms() {
  // Updates re-render the list; keep keyboard focus on the room it was on.
  const focused = document.activeElement?.dataset?.roomId;
  show($('#no-rooms'), rooms.length === 0);
  show($('#rooms'), rooms.length > 0);
  $('#rooms').replaceChildren(...rooms.map(roomItem));
  for (const id of typingRooms.keys()) rowTyping(id);
  if (focused) $(`[data-room-id="${CSS.escape(focused)}"]`)?.focus();
  if (cur) roomTitle();
}
onLangChange(() => { renderRooms(); setStatus(statusKey); notice(noticeKey); });

// ---- conversation

let cur = null; let statusKey = '';
const chatErr = (msg) => { $('#chat-err').textContent = msg; };
function setStatus(k) { statusKey = k; $('#chat-status').textContent = k ? t(k) : ''; }

// Title and name from the room list, and the visitor's read mark it carries.
function roomTitle() {
  const room = rooms.find((r) => r.id === cur.id);
  const name = room?.visitor_name || '';
  $('#room-h').textContent = name || t('visitor');
  if (name) cur.log.setName('visitor', name);
  cur.log.markSeen(room?.visitor_last_read_id);
  renderRoomState(room);
}

// An action's answer: its flags are newer than the listed room's; the rest arrives as the
// owner channel's room frame, in order with the room's other changes.
function roomChanged(room) {
  const listed = rooms.find((x) => x.id === room.id);
  if (listed) Object.assign(listed, { is_active: room.is_active, is_blocked: room.is_blocked });
  else upsertRoom(room);
  renderRooms();
}
initRoomControls({ roomId: () => cur?.id, onRoom: roomChanged, onError: (m) => chatErr(m) });

function openRoom(id) {
  // sessionStorage like the tokens: what waits to be sent belongs to this tab's session.
  const log = new ChatLog($('#log'), 'owner', { outbox: outboxStore(() => sessionStorage, `carinfo.outbox.${id}`) });
  const loadHistory = async () => {
    const r = await authed('GET', `/api/chat/rooms/${enc(id)}/messages/`);
    if (cur?.id !== id) return false;
    if (r.status === 200 && Array.isArray(r.data)) { r.data.forEach((m) => log.add(m)); return true; }
    if (r.status === 403 || r.status === 404) { cur.chat.stop(); setStatus(''); chatErr(t('room_gone')); return false; }
    return null;
  };
  const sock = new LiveSocket({
    url: (failures, lastClose) => ownerWsUrl(`/ws/chat/${enc(id)}/`, chat.resume(failures), failures, lastClose),
    onStatus: setStatus,
  });
  const typing = new Typing($('#typing'), () => rooms.find((r) => r.id === id)?.visitor_name || t('visitor'));
  // The room socket says when the room closes or reopens; whether it is blocked comes with
  // the owner channel's room frame.
  const onRoomState = (f) => {
    const room = rooms.find((x) => x.id === id);
    if (room && room.is_active !== f.is_active) roomChanged({ ...room, is_active: f.is_active });
  };
  const chat = new RoomChat(log, sock, { history: loadHistory, onError: chatErr, onRoomState, typing });
  cur = { id, log, chat, typing };
  roomTitle();
  chatErr('');
  if (typingRooms.has(id)) typing.show();
  sock.start();
  loadHistory();
}

function closeRoom() {
  cur?.chat.stop();
  cur = null;
  setStatus('');
  renderRoomState(null);
}

$('#send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const box = $('#text');
  const text = box.value.trim();
  chatErr('');
  if (!cur || !text) return;
  if (text.length > MAX_LEN) { chatErr(t('too_long')); return; }
  cur.chat.send(text);
  box.value = '';
  box.focus();
});
$('#text').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('#send-form').requestSubmit(); }
});
$('#text').addEventListener('input', (e) => { if (e.target.value.trim()) cur?.chat.typed(); });

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
    // #room/<id> from the inbox's links, #room=<id> from a notification.
    const m = location.hash.match(/^#room[/=](.+)$/);
    if (m) { view = 'room'; openRoom(decodeURIComponent(m[1])); } else if (location.hash === '#profile') {
      view = 'prof';
      openProfile();
    } else {
      view = 'inbox';
      loadSettings();
    }
    startChannel();
    poll();
  }
  show($(`#${view}`));
  // Moving focus to the new view's heading tells screen-reader users the page changed.
  if (routed) $(`#${view} h1`).focus();
  routed = true;
}
let routed = false;
initSettings();
addEventListener('hashchange', route);
// A notification was clicked while the inbox is open: show its conversation here.
onOpenRequest((url) => {
  const u = new URL(url, location.href);
  if (u.origin === location.origin && u.pathname === location.pathname) location.hash = u.hash;
  else location.assign(u.href);
});
route();
