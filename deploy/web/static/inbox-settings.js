// The inbox's settings card: pausing the sticker (accepting_messages), quiet hours
// (quiet_until) and this browser's notifications. The two chat settings live on the server
// (/api/chat/settings/); the notification switch is this browser's push subscription.
import { t, onLangChange } from './i18n.js';
import { $, errorText, fmtTime } from './api.js';
import { authed } from './owner-session.js';
import { pushState, enablePush, disablePush } from './push.js';

const HOUR = 3600 * 1000;
let settings = null; let push = ''; let quietTimer = null;
const PUSH_TEXT = { on: 'push_on', unsupported: 'push_unsupported', denied: 'push_denied', failed: 'push_failed' };

const err = (msg) => { $('#s-err').textContent = msg; };

function quietUntil() {
  const until = settings?.quiet_until ? Date.parse(String(settings.quiet_until).replace(/(\.\d{3})\d+/, '$1')) : NaN;
  return until > Date.now() ? until : null;
}

function render() {
  const pause = $('#s-pause');
  pause.checked = settings?.accepting_messages === false;
  pause.disabled = !settings;
  $('#s-pause-state').textContent = pause.checked ? t('paused_now') : '';
  const until = quietUntil();
  $('#s-quiet-state').textContent = !settings ? ''
    : until ? t('quiet_until', { time: fmtTime(new Date(until).toISOString()) }) : t('quiet_none');
  for (const b of document.querySelectorAll('.quiet-row [data-quiet]')) b.disabled = !settings;
  // Quiet hours end by themselves; say so when they do.
  clearTimeout(quietTimer);
  if (until) quietTimer = setTimeout(render, Math.min(until - Date.now() + 500, 2 ** 31 - 1));
  $('#s-push-state').textContent = PUSH_TEXT[push] ? t(PUSH_TEXT[push]) : '';
  // What is shown, for tests and styles: paused (true/false), quiet hours (on/off), push.
  Object.assign($('#settings').dataset, {
    paused: settings ? String(pause.checked) : '', quietHours: settings ? (until ? 'on' : 'off') : '', push,
  });
}
onLangChange(render);

async function save(body) {
  err('');
  const r = await authed('PATCH', '/api/chat/settings/', { body });
  if (r.status === 200 && r.data && typeof r.data.accepting_messages === 'boolean') settings = r.data;
  else err(errorText(r));
  render();
}

// Reads the settings and this browser's push state; called whenever the inbox is shown.
export async function loadSettings() {
  err('');
  const [r, state] = await Promise.all([authed('GET', '/api/chat/settings/'), pushState()]);
  if (r.status === 200 && r.data && typeof r.data.accepting_messages === 'boolean') settings = r.data;
  else err(errorText(r));
  showPush(state);
}

function showPush(state) {
  const sw = $('#s-push');
  sw.checked = state === 'on';
  sw.disabled = state === 'unsupported';
  push = state;
  render();
}

export function initSettings() {
  $('#s-pause').addEventListener('change', async (e) => {
    const sw = e.target;
    sw.disabled = true;
    await save({ accepting_messages: !sw.checked });
    sw.disabled = false;
  });
  for (const b of document.querySelectorAll('.quiet-row [data-quiet]')) {
    b.addEventListener('click', () => {
      const hours = Number(b.dataset.quiet);
      save({ quiet_until: hours ? new Date(Date.now() + hours * HOUR).toISOString() : null });
    });
  }
  $('#s-push').addEventListener('change', async (e) => {
    const sw = e.target;
    sw.disabled = true;
    if (sw.checked) showPush(await enablePush());
    else {
      await disablePush();
      showPush('off');
    }
    sw.disabled = false;
  });
}
