// The owner's controls over the open conversation: close, reopen, block (after a
// confirmation) and unblock, and the room's state in a live region. The room object each
// action answers goes to `onRoom`; the inbox keeps it with the others.
import { t, onLangChange } from './i18n.js';
import { $, show, errorText } from './api.js';
import { authed } from './owner-session.js';

const enc = encodeURIComponent;
// action: [method, path segment, the button that takes the place of the one pressed]
const ACTIONS = {
  close: ['POST', 'close', 'reopen'],
  reopen: ['POST', 'reopen', 'close'],
  block: ['POST', 'block', 'unblock'],
  unblock: ['DELETE', 'block', 'close'],
};

let shown = null;

// Shows the buttons that apply to `room` (none while it is unknown) and its state.
export function renderRoomState(room) {
  shown = room || null;
  const blocked = !!room?.is_blocked;
  const closed = room?.is_active === false;
  show($('#room-close'), !!room && !closed && !blocked);
  show($('#room-reopen'), closed && !blocked);
  show($('#room-block'), !!room && !blocked);
  show($('#room-unblock'), blocked);
  const state = blocked ? 'blocked' : closed ? 'closed' : 'open';
  $('#room-state').textContent = state === 'open' ? '' : t(`room_${state}`);
  $('#room').dataset.state = room ? state : '';
}
onLangChange(() => { if ($('#room').dataset.state) renderRoomState(shown); });

// `roomId()` names the open conversation; `onRoom(room)` takes an action's answer.
export function initRoomControls({ roomId, onRoom, onError }) {
  for (const [action, [method, segment, next]] of Object.entries(ACTIONS)) {
    const button = $(`#room-${action}`);
    button.addEventListener('click', async () => {
      const id = roomId();
      if (!id || (action === 'block' && !window.confirm(t('confirm_block')))) return;
      onError('');
      const buttons = document.querySelectorAll('.actions button');
      for (const b of buttons) b.disabled = true;
      const r = await authed(method, `/api/chat/rooms/${enc(id)}/${segment}/`);
      for (const b of buttons) b.disabled = false;
      if (roomId() !== id) return;
      if (r.status === 200 && r.data?.id) {
        onRoom(r.data);
        // The pressed button is gone now; keep the keyboard where the counterpart appears.
        const other = $(`#room-${next}`);
        (other.hidden ? $('#room-h') : other).focus();
      } else onError(errorText(r));
    });
  }
}
