// One room's conversation, shared by the visitor page and the owner's inbox: the message list
// (ChatLog), the "typing…" line (Typing) and the glue to the room socket (RoomChat).
//
// Protocol v2 (subprotocol "carinfo.v2"): each sent message carries a client_id, which the
// server stores once and echoes in the sender's broadcast, so an unacknowledged message is
// simply resent with the same id after a reconnect; `?after=<id>` makes the server replay what
// the client missed before any live frame; `typing` and `read` frames carry presence. Against a
// v1 server the client falls back to re-reading the history and matching its own messages by
// text, and sends neither typing nor read frames (v1 would answer them with error frames).
import { t, onLangChange } from './i18n.js';
import { fmtTime } from './api.js';

export const V2 = 'carinfo.v2';
const TYPING_EVERY_MS = 3000; // the server drops typing frames sent more often
const TYPING_SHOWN_MS = 4000;
const READ_EVERY_MS = 250; // the server answers read frames sent more often with an error frame
// The refusal of a visitor's message in a room the owner has closed; the socket stays open.
// Only this text tells it apart from other error frames.
export const CLOSED_ERROR = 'This chat is closed.';

// crypto.randomUUID exists only in secure contexts; a plain-http deployment still needs ids.
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Unacknowledged messages, kept where a reload finds them. `storage` is a function because
// merely touching localStorage throws where storage is blocked.
export function outboxStore(storage, key) {
  return {
    load() {
      try {
        const list = JSON.parse(storage().getItem(key));
        return Array.isArray(list) ? list.filter((p) => p && p.client_id && typeof p.text === 'string') : [];
      } catch { return []; }
    },
    save(list) {
      try {
        if (list.length) storage().setItem(key, JSON.stringify(list));
        else storage().removeItem(key);
      } catch { /* kept in memory only */ }
    },
  };
}

// The message list of one room. Confirmed messages are keyed by id (history, replay and live
// frames overlap); the sender's own unconfirmed messages wait at the bottom and are matched to
// their broadcast by client_id, or by text on a v1 socket, which echoes no client-side id.
export class ChatLog {
  constructor(el, self, { names = {}, outbox = null } = {}) {
    Object.assign(this, { el, self, names, outbox, byId: new Map(), pending: [], seenId: null, matchByText: false });
    this.box = el.closest('.log') || el;
    this.empty = document.createElement('li');
    this.empty.className = 'muted';
    this.empty.dataset.i18n = 'no_messages';
    this.empty.textContent = t('no_messages');
    el.replaceChildren(this.empty);
    // The list element outlives a room (the inbox reuses it); only its current log relabels it.
    el.chatLog = this;
    onLangChange(() => this.relabel());
    for (const p of outbox?.load() || []) this.queue(p.text, p.client_id);
  }

  bubble(sender, text) {
    const li = document.createElement('li');
    li.className = sender === this.self ? 'msg mine' : 'msg';
    li.dataset.testid = 'msg';
    li.dataset.sender = sender;
    li.innerHTML = '<span class="sr who"></span><p></p><span class="meta"><time></time> <span class="state"></span></span>';
    li.querySelector('p').textContent = text;
    this.empty.remove();
    return li;
  }

  label(li) {
    const mine = li.dataset.sender === this.self;
    const other = this.names[li.dataset.sender] || t(li.dataset.sender === 'owner' ? 'owner_label' : 'visitor');
    li.querySelector('.who').textContent = `${mine ? t('you') : other}: `;
    const state = li.querySelector('.state');
    if (mine && li.dataset.state === 'seen') {
      // The tick is decoration; the word beside it is what assistive technology reads.
      state.innerHTML = '<span class="tick" aria-hidden="true">✓✓</span> <span></span>';
      state.lastChild.textContent = t('seen');
    } else state.textContent = mine ? t(li.dataset.state) : '';
    const time = li.querySelector('time');
    if (li.dataset.ts) { time.dateTime = li.dataset.ts; time.textContent = fmtTime(li.dataset.ts); }
  }

  relabel() {
    if (this.el.chatLog === this) for (const li of this.el.querySelectorAll('.msg')) this.label(li);
  }

  setName(sender, name) { this.names[sender] = name; this.relabel(); }

  // Accepts a history item ({content}) or a live frame ({message}); false if already shown.
  add(m) {
    if (!m || !m.id) return false;
    if (this.byId.has(m.id)) {
      // A resend answered with the original broadcast, for a message that history or replay
      // (which carry no client_id) already showed: the waiting copy is a duplicate.
      const p = m.client_id && this.pending.find((x) => x.client_id === m.client_id);
      if (p) { this.drop(p); p.li.remove(); }
      return false;
    }
    const text = m.message ?? m.content ?? '';
    let li = null;
    if (m.sender_type === this.self) {
      const p = m.client_id ? this.pending.find((x) => x.client_id === m.client_id)
        : this.matchByText && this.pending.find((x) => x.text === text);
      if (p) { this.drop(p); li = p.li; }
    }
    li ||= this.bubble(m.sender_type, text);
    li.dataset.id = m.id;
    li.dataset.ts = m.created_at || '';
    this.byId.set(m.id, li);
    li.dataset.state = this.isSeen(li) ? 'seen' : 'delivered';
    this.label(li);
    let before = null;
    for (const c of this.el.children) {
      if (c !== li && (!c.dataset.id || c.dataset.ts > li.dataset.ts)) { before = c; break; }
    }
    // Moving a node that is already in place would make screen readers announce it again.
    if (li.parentNode !== this.el || li.nextElementSibling !== before) this.el.insertBefore(li, before);
    this.scroll();
    return true;
  }

  queue(text, clientId = newClientId()) {
    const li = this.bubble(this.self, text);
    li.dataset.state = 'sending';
    const p = { client_id: clientId, text, li, sent: false };
    this.pending.push(p);
    this.save();
    this.label(li);
    this.el.append(li);
    this.scroll();
    return p;
  }

  drop(p) {
    this.pending = this.pending.filter((x) => x !== p);
    this.save();
  }

  fail(p) {
    this.drop(p);
    p.li.dataset.state = 'failed';
    this.label(p.li);
  }

  save() { this.outbox?.save(this.pending.map(({ client_id: id, text }) => ({ client_id: id, text }))); }

  // Whether message `a` (an id) comes after message `b`: by time where both are shown, by id
  // otherwise (message ids are UUIDv7, which sort by time).
  after(a, b) {
    const la = this.byId.get(a); const lb = this.byId.get(b);
    if (la && lb && la.dataset.ts !== lb.dataset.ts) return la.dataset.ts > lb.dataset.ts;
    return a > b;
  }

  isSeen(li) {
    return li.dataset.sender === this.self && !!this.seenId && !this.after(li.dataset.id, this.seenId);
  }

  // The other side has read up to message `id`: every own message up to it is seen.
  markSeen(id) {
    if (!id || (this.seenId && !this.after(id, this.seenId))) return;
    this.seenId = id;
    for (const li of this.byId.values()) {
      if (li.dataset.state !== 'seen' && this.isSeen(li)) { li.dataset.state = 'seen'; this.label(li); }
    }
  }

  last(filter = () => true) {
    const shown = [...this.el.children].filter((li) => li.dataset.id && filter(li));
    return shown.length ? shown[shown.length - 1].dataset.id : null;
  }

  lastId() { return this.last(); }

  newestOther() { return this.last((li) => li.dataset.sender !== this.self); }

  scroll() { this.box.scrollTop = this.box.scrollHeight; }
}

// "<who> is typing…" for a few seconds after each typing frame, in a polite live region.
export class Typing {
  constructor(el, who) {
    Object.assign(this, { el, who, timer: null, on: false });
    onLangChange(() => { if (this.on) this.render(); });
  }

  render() { this.el.textContent = this.on ? t('typing_who', { who: this.who() }) : ''; }

  show() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.hide(), TYPING_SHOWN_MS);
    if (!this.on) { this.on = true; this.render(); }
  }

  hide() { clearTimeout(this.timer); this.on = false; this.render(); }
}

// Glue between a ChatLog and a LiveSocket (api.js). `history` re-reads the room and merges it;
// it is needed after a connect without `after`, and on a v1 socket before resending, so a
// message the server stored just before the drop is confirmed, not sent twice.
// `onRoomState({is_active})` hears the owner closing or reopening the room: the v2 socket's
// room_state frame, or the refusal of a message in a closed room.
export class RoomChat {
  constructor(log, sock, { history, onError, onRoomState, typing }) {
    Object.assign(this, {
      log, sock, history, onError, onRoomState, typing, v2: false, v2Seen: false, resumed: false, readSent: null, readAt: 0, readTimer: null, typedAt: 0,
    });
    sock.onFrame = (f) => this.frame(f);
    sock.onOpen = () => this.opened();
    // Browsers fail a handshake whose requested subprotocol the server does not echo, so
    // until a v2 socket has opened, every other attempt after repeated failures goes without
    // it, in case the server is v1. Once the server has shown it speaks v2, an outage is
    // just an outage.
    sock.protocols = (failures) => (!this.v2Seen && failures >= 2 && failures % 2 === 0 ? [] : [V2]);
    this.visible = () => { if (!document.hidden) this.markRead(); };
    document.addEventListener('visibilitychange', this.visible);
  }

  // Query parameters for the next attempt: `after` the newest message shown, unless the last
  // attempt failed (an id the server does not know is refused at the handshake with 400,
  // which a browser cannot tell from any other failure).
  resume(failures) {
    const after = failures === 0 ? this.log.lastId() : null;
    this.resumed = !!after;
    return after ? { after } : {};
  }

  async opened() {
    this.v2 = this.sock.protocol === V2;
    this.v2Seen ||= this.v2;
    this.log.matchByText = !this.v2;
    this.readSent = null;
    this.readAt = 0;
    for (const p of this.log.pending) p.sent = false;
    if (this.v2) {
      // The server stores each client_id once, so resending at once is safe.
      this.flush();
      if (!this.resumed) await this.history();
    } else if ((await this.history()) !== false) this.flush();
    this.markRead();
  }

  flush() {
    for (const p of this.log.pending) if (!p.sent) p.sent = this.sock.send({ message: p.text, client_id: p.client_id });
  }

  frame(f) {
    if (typeof f.error === 'string') {
      const p = this.log.pending.find((x) => x.sent);
      if (p) this.log.fail(p);
      if (f.error === CLOSED_ERROR && this.onRoomState) this.onRoomState({ is_active: false });
      else this.onError?.(f.error);
    } else if (f.type === 'room_state') {
      if (typeof f.is_active === 'boolean') this.onRoomState?.(f);
    } else if (f.type === 'typing') {
      if (f.sender_type !== this.log.self) this.typing?.show();
    } else if (f.type === 'read') {
      if (f.sender_type !== this.log.self) this.log.markSeen(f.message_id);
    } else if (f.type === undefined && this.log.add(f) && f.sender_type !== this.log.self) {
      this.typing?.hide();
      this.markRead();
    }
  }

  send(text) {
    const p = this.log.queue(text);
    p.sent = this.sock.send({ message: text, client_id: p.client_id });
    return p;
  }

  // Called on every input event; the server drops typing frames sent more often than this.
  typed() {
    if (!this.v2 || Date.now() - this.typedAt < TYPING_EVERY_MS) return;
    if (this.sock.send({ type: 'typing' })) this.typedAt = Date.now();
  }

  // Tells the other side what is on screen, only while the page is visible and only forward;
  // messages arriving in a burst are acknowledged together.
  markRead() {
    if (!this.v2 || document.hidden || this.readTimer) return;
    const id = this.log.newestOther();
    if (!id || (this.readSent && !this.log.after(id, this.readSent))) return;
    const wait = this.readAt + READ_EVERY_MS - Date.now();
    if (wait > 0) {
      this.readTimer = setTimeout(() => { this.readTimer = null; this.markRead(); }, wait);
      return;
    }
    if (this.sock.send({ type: 'read', message_id: id })) { this.readSent = id; this.readAt = Date.now(); }
  }

  stop() {
    clearTimeout(this.readTimer);
    document.removeEventListener('visibilitychange', this.visible);
    this.sock.stop();
    this.typing?.hide();
  }
}
