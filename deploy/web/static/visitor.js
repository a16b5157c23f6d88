// The page behind the QR code: sticker check, public profile or activation, anonymous chat.
import { t, apply, onLangChange } from './i18n.js';
import {
  $, boot, request, wsUrl, show, buildFields, readForm, showErrors, errorText, LiveSocket, MAX_LEN,
} from './api.js';
import { ChatLog, RoomChat, Typing, outboxStore, newClientId } from './chat.js';

boot();
const sticker = decodeURIComponent((location.pathname.match(/\/u\/([^/]+)/) || [])[1] || '');
const enc = encodeURIComponent;
// The visitor token is the visitor's only credential; it lives in localStorage (not
// sessionStorage) on purpose, so that a reload or a return to the car resumes the same room.
const KEY = `carinfo.chat.${sticker}`;
// Messages the server has not acknowledged yet, resent with their client_id after a reload.
const outbox = outboxStore(() => localStorage, `${KEY}.outbox`);
// The owner's public profile, when it is public: its contacts stand in for the chat while the
// owner is not accepting messages.
let profile = null;

// One random key per browser, sent with every chat start, so that an owner's block holds for
// this browser's new chats too. It is no credential: it only ever narrows what this browser may do.
const VISITOR_KEY = 'carinfo.visitor_key';
let memoryKey = null;
function visitorKey() {
  try {
    let k = localStorage.getItem(VISITOR_KEY);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(k || '')) {
      k = newClientId();
      localStorage.setItem(VISITOR_KEY, k);
    }
    return k;
  } catch {
    memoryKey ||= newClientId(); // storage blocked: one key for this page's life
    return memoryKey;
  }
}

function done() { show($('#loading'), false); }

function fail(r) {
  done();
  $('#failed-text').textContent = errorText(r);
  show($('#failed'));
}
$('#reload').onclick = () => location.reload();

async function load() {
  if (!sticker) { done(); show($('#invalid')); return; }
  const r = await request('GET', `/api/stickers/${enc(sticker)}/`);
  if (r.status === 404 || r.status === 400) { done(); show($('#invalid')); return; }
  if (r.status !== 200 || !r.data) { fail(r); return; }
  if (!r.data.is_registered) { activation(); return; }
  const p = await request('GET', `/user/${enc(sticker)}/`);
  if (p.status === 200 && p.data) {
    profile = p.data;
    renderProfile(p.data);
    onLangChange(() => renderProfile(p.data));
  } else if (p.status === 404) show($('#contact'));
  else { fail(p); return; }
  done();
  chat();
}

// Owners type handles, numbers or whole URLs; only http(s) URLs are used as they are.
function link(value, base, clean = (v) => v.replace(/^@/, '')) {
  return /^https?:\/\/[^\s]+$/i.test(value) ? value : base + enc(clean(value));
}

// The owner's ways to be reached, as links: calls, then social profiles.
function contactLinks(u) {
  const items = [];
  for (const ph of [u.phone_number, u.phone_number_2]) {
    if (ph) items.push([`tel:${ph.replace(/[^\d+]/g, '')}`, `${t('call')}: ${ph}`, 'call']);
  }
  if (u.instagram) items.push([link(u.instagram, 'https://instagram.com/'), 'Instagram', 'instagram']);
  if (u.telegram) items.push([link(u.telegram, 'https://t.me/'), 'Telegram', 'telegram']);
  if (u.whatsapp) items.push([link(u.whatsapp, 'https://wa.me/', (v) => v.replace(/\D/g, '')), 'WhatsApp', 'whatsapp']);
  return items.map(([href, text, id]) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    Object.assign(a, { href, textContent: text, className: 'btn ghost' });
    a.dataset.testid = `link-${id}`;
    if (!href.startsWith('tel:')) Object.assign(a, { target: '_blank', rel: 'noopener noreferrer' });
    li.append(a);
    return li;
  });
}

function renderProfile(u) {
  const car = $('#p-car');
  car.textContent = u.car_model || t('car');
  $('#p-plate').textContent = u.car_plate_number || '';
  show($('#p-plate').parentNode, !!u.car_plate_number);
  $('#p-name').textContent = u.full_name || '';
  show($('#p-name-row'), !!u.full_name);
  $('#p-links').replaceChildren(...contactLinks(u));
  show($('#profile'));
}

function activation() {
  done();
  show($('#activate'));
  const form = $('#activate-form');
  buildFields($('#act'), ['phone_number', 'password', 'full_name', 'phone_number_2', 'car_model',
    'car_plate_number', 'instagram', 'telegram', 'whatsapp', 'is_profile_public'], ['phone_number', 'password']);
  apply($('#act'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = form.querySelector('[type=submit]');
    btn.disabled = true;
    const r = await request('POST', '/api/user/register/', { body: { user_id: sticker, ...readForm(form, { omitEmpty: true }) } });
    btn.disabled = false;
    if (r.status === 201 || r.status === 200) {
      show(form, false);
      show($('#act-intro'), false);
      show($('#activated'));
      $('#activated a').focus();
    } else showErrors(form, $('#act-err'), r.status === 400 && r.data ? r.data : { detail: errorText(r) });
  });
}

function chat() {
  let session = null;
  try { session = JSON.parse(localStorage.getItem(KEY)); } catch { /* corrupt or blocked: start fresh */ }
  // Without a room there is nobody to resend to: whatever was queued for one is dropped.
  if (!session?.room_id || !session.visitor_token) { session = null; outbox.save([]); }
  let log; let chatLink = null; let starting = null; let statusKey = '';
  const err = (msg) => { $('#chat-err').textContent = msg; };
  const setStatus = (k) => { statusKey = k; $('#chat-status').textContent = k ? t(k) : ''; };
  onLangChange(() => setStatus(statusKey));
  const typing = new Typing($('#typing'), () => t('owner_label'));
  const fresh = () => { log = new ChatLog($('#log'), 'visitor', { outbox }); };
  fresh();

  // What the owner allows, as the visitor last learnt it: null (write freely), 'closed' (this
  // room), 'blocked' (every new chat from this browser), 'paused' (no new chats for now) or
  // 'reopened' (writing again, said once).
  let state = null;
  function setState(s) { state = s; renderState(); }
  function renderState() {
    $('#chat-state-text').textContent = state ? t(`chat_${state}`) : '';
    const links = state === 'paused' && profile ? contactLinks(profile) : [];
    if (state === 'paused') {
      const more = document.createElement('span');
      more.textContent = ` ${t(links.length ? 'paused_contacts' : 'paused_later')}`;
      $('#chat-state-text').append(more);
    }
    $('#chat-state-links').replaceChildren(...links);
    show($('#chat-state-links'), links.length > 0);
    show($('#new-chat'), state === 'closed');
    const locked = state === 'closed' || state === 'blocked';
    for (const el of [$('#text'), $('#visitor-name'), $('#send-form [type=submit]'), ...$('#quick').children]) el.disabled = locked;
    $('#chat').dataset.state = state || 'open';
  }
  onLangChange(renderState);

  async function history() {
    const s = session;
    if (!s) return false;
    const r = await request('GET', `/api/chat/rooms/${enc(s.room_id)}/messages/?visitor=${enc(s.visitor_token)}`);
    if (session !== s) return false; // forgotten or replaced meanwhile
    if (r.status === 200 && Array.isArray(r.data)) { r.data.forEach((m) => log.add(m)); return true; }
    if (r.status === 401 || r.status === 403 || r.status === 404) { forget(); return false; }
    return null; // an outage: keep the room and try again on the next connect
  }

  function leave() {
    chatLink?.stop();
    chatLink = null; session = null;
    try { localStorage.removeItem(KEY); } catch { /* nothing stored then */ }
    outbox.save([]);
    fresh();
    setStatus('');
    show($('#name-row'));
  }

  function forget() {
    leave();
    setState(null);
    err(t('chat_ended'));
  }

  // Closed rooms stay readable; a new chat leaves this one behind.
  $('#new-chat').addEventListener('click', () => {
    leave();
    setState(null);
    err('');
    $('#text').focus();
  });

  function roomState(f) {
    if (f.is_active === false) setState('closed');
    else if (state === 'closed') setState('reopened');
  }

  function connect() {
    show($('#name-row'), false);
    const sock = new LiveSocket({
      url: async (failures) => session && wsUrl(session.ws_path || `/ws/chat/${session.room_id}/`, {
        ...chatLink.resume(failures), visitor: session.visitor_token,
      }),
      onStatus: setStatus,
    });
    chatLink = new RoomChat(log, sock, { history, onError: err, onRoomState: roomState, typing });
    sock.start();
  }

  function startRoom() {
    starting ||= (async () => {
      const r = await request('POST', '/api/chat/start/', {
        body: { user_id: sticker, visitor_name: $('#visitor-name').value.trim(), visitor_key: visitorKey() },
      });
      if ((r.status === 201 || r.status === 200) && r.data?.room_id && r.data.visitor_token) {
        session = { room_id: r.data.room_id, visitor_token: r.data.visitor_token, ws_path: r.data.ws_path };
        try { localStorage.setItem(KEY, JSON.stringify(session)); } catch { /* works until reload */ }
        setState(null);
        connect();
        return true;
      }
      const refusal = r.status === 403 && { visitor_blocked: 'blocked', not_accepting_messages: 'paused' }[r.data?.code];
      if (refusal) setState(refusal);
      else err(errorText(r));
      return false;
    })().finally(() => { starting = null; });
    return starting;
  }

  async function submit(raw) {
    err('');
    const text = raw.trim();
    if (!text || state === 'closed' || state === 'blocked') return false;
    if (text.length > MAX_LEN) { err(t('too_long')); return false; }
    if (state) setState(null); // a retry while paused asks again; "reopened" was said once
    if (session && chatLink) { chatLink.send(text); return true; }
    // The socket of a new room flushes queued messages once it opens.
    const p = log.queue(text);
    if (!(await startRoom())) log.fail(p);
    return true;
  }

  for (const k of ['blocking', 'lights', 'window', 'alarm', 'call']) {
    const b = document.createElement('button');
    Object.assign(b, { type: 'button', textContent: t(`q_${k}`), onclick: () => submit(t(`q_${k}`)) });
    Object.assign(b.dataset, { i18n: `q_${k}`, testid: `quick-${k}` });
    $('#quick').append(b);
  }
  $('#send-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const box = $('#text');
    if (await submit(box.value)) box.value = '';
    box.focus();
  });
  $('#text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('#send-form').requestSubmit(); }
  });
  $('#text').addEventListener('input', (e) => { if (e.target.value.trim()) chatLink?.typed(); });

  show($('#chat'));
  if (session) {
    connect();
    history();
  }
}

load();
