// The owner's credentials: the token pair, its refresh, authenticated requests and socket
// URLs. It knows nothing of views; when the session cannot be renewed it calls the handler
// given to onExpired (the inbox logs out).
import { request, wsUrl } from './api.js';

let expired = () => {};
// What happens when the session cannot be renewed (the inbox logs out).
export function onExpired(fn) { expired = fn; }

// Tokens go to sessionStorage, not localStorage: they are bearer credentials for the whole
// account, and the inbox is often opened on a shared or borrowed device. sessionStorage dies
// with the tab, so closing it logs out; localStorage would keep the account open for good.
const TOK = 'carinfo.tokens';
export let tokens = null;
try { tokens = JSON.parse(sessionStorage.getItem(TOK)); } catch { /* storage blocked: log in each time */ }

export function saveTokens(tk) {
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

export async function authed(method, path, opts = {}) {
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
  expired();
  return r;
}

function jwtExp(tok) {
  try {
    return JSON.parse(atob(tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  } catch { return 0; }
}

// The gateway accepts only live access tokens and a refused handshake has no status a browser
// can read, so refresh when the token is about to expire, when the server closed the last
// socket for an expired token, or when the last attempt failed.
export async function ownerWsUrl(path, query, failures, lastClose) {
  if (!tokens) return null;
  const exp = jwtExp(tokens.access);
  const closedForExpiry = lastClose?.code === 1008 && /token expired/i.test(lastClose.reason || '');
  if ((exp && exp - Date.now() < 30000) || failures === 1 || closedForExpiry) {
    if ((await refresh()) === 'fail') { expired(); return null; }
  }
  return tokens && wsUrl(path, { ...query, token: tokens.access });
}
