// This browser's push notifications for the owner: the service worker (sw.js), the browser's
// push subscription and its registration with the notifier (/api/push/). It knows nothing of
// views; the inbox's switch calls it.
//
// The worker lives at /static/sw.js with the scope /static/, where the web client's files are
// served from in every topology. It controls no page and needs none: a push reaches the
// worker of its registration whatever pages are open, and a notification click finds the
// inbox's window among all of the origin's windows. A scope over /app/ would need the server
// to send `Service-Worker-Allowed` with the script.
import { request } from './api.js';
import { authed } from './owner-session.js';

const SCRIPT = '/static/sw.js';
const SCOPE = '/static/';
const SUBSCRIBE_MS = 30000;

export const pushSupported = () => isSecureContext && 'serviceWorker' in navigator
  && 'PushManager' in window && 'Notification' in window;

// The VAPID key comes as base64url; the push manager wants its bytes.
function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function sameKey(buf, bytes) {
  if (!buf) return false;
  const a = new Uint8Array(buf);
  return a.length === bytes.length && a.every((x, i) => x === bytes[i]);
}

const registration = () => navigator.serviceWorker.getRegistration(SCOPE);

// `navigator.serviceWorker.ready` waits for a worker controlling this page, which this one
// never is; subscribing needs an active worker, so wait for it here.
function activated(reg) {
  if (reg.active) return Promise.resolve(reg);
  const w = reg.installing || reg.waiting;
  return new Promise((resolve, reject) => {
    w.addEventListener('statechange', () => {
      if (w.state === 'activated') resolve(reg);
      else if (w.state === 'redundant') reject(new Error('service worker failed to install'));
    });
  });
}

async function subscription() {
  const reg = await registration();
  return reg ? reg.pushManager.getSubscription() : null;
}

// 'unsupported', 'denied' (the browser refuses notifications), 'on' or 'off'.
export async function pushState() {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  try {
    return Notification.permission === 'granted' && (await subscription()) ? 'on' : 'off';
  } catch { return 'off'; }
}

// Asks for permission, subscribes with the notifier's key and hands the subscription to the
// notifier. Resolves to 'on', 'denied' or 'failed'.
export async function enablePush() {
  if (!pushSupported()) return 'failed';
  if ((await Notification.requestPermission()) !== 'granted') return 'denied';
  let sub = null; let subscribing = null;
  try {
    const reg = await activated(await navigator.serviceWorker.register(SCRIPT, { scope: SCOPE }));
    const k = await request('GET', '/api/push/vapid-key/');
    if (k.status !== 200 || typeof k.data?.public_key !== 'string') return 'failed';
    const key = keyBytes(k.data.public_key);
    sub = await reg.pushManager.getSubscription();
    // A subscription made for another key (the notifier's key was rotated) cannot be used.
    if (sub && !sameKey(sub.options.applicationServerKey, key)) { await sub.unsubscribe(); sub = null; }
    // Without a reachable push service a browser may wait for good; give up after a while.
    if (!sub) {
      subscribing = reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      sub = await Promise.race([subscribing, new Promise((_, reject) => {
        setTimeout(() => reject(new Error('push service timed out')), SUBSCRIBE_MS);
      })]);
    }
    const r = await authed('POST', '/api/push/subscriptions/', { body: sub.toJSON() });
    if (r.status >= 200 && r.status < 300) return 'on';
  } catch { /* the push service refused, or the worker did not install */ }
  // A subscription the notifier does not know would only make the switch lie, even one the
  // push service grants after we stopped waiting.
  subscribing?.then((late) => late.unsubscribe()).catch(() => {});
  await sub?.unsubscribe().catch(() => {});
  return 'failed';
}

// Tells the notifier to forget this browser, then drops the subscription. The DELETE may
// fail (offline); the subscription goes anyway, and the notifier forgets an endpoint the push
// service reports gone.
export async function disablePush() {
  const sub = await subscription().catch(() => null);
  if (!sub) return;
  await authed('DELETE', '/api/push/subscriptions/', { body: { endpoint: sub.endpoint } });
  await sub.unsubscribe().catch(() => {});
}

// The worker asks an open inbox to show a conversation (a notification was clicked).
export function onOpenRequest(fn) {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data?.type === 'open' && typeof e.data.url === 'string') fn(e.data.url);
  });
  navigator.serviceWorker.startMessages();
}
