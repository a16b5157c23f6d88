// The product's story in a real browser, three separate profiles: the owner activates a
// sticker (A) and waits in the live inbox (C), a stranger scans the sticker and writes (B), the
// new conversation reaches the inbox over the owner channel with no list request, the owner
// opens it (the stranger sees "seen", then "typing…") and answers, the stranger sees the answer
// live and again after a reload. Then the owner's controls: the owner closes the conversation
// (the stranger can no longer write) and reopens it, pauses the sticker (a new stranger sees
// the owner's contacts instead of a chat) and resumes it, and blocks the first stranger, whose
// browser then cannot start a new chat. Last, notifications: the inbox's switch registers the
// service worker; the notifier takes a subscription to a push service the story runs on
// loopback, pushes a new stranger's chat there, and the decrypted payload, delivered to the
// worker through the DevTools protocol, shows as a notification. (Playwright's contexts have
// no push service of their own: Chromium refuses pushManager.subscribe off the record, and a
// persistent profile waits for a push service it cannot reach.) axe-core checks every page
// state on the way; a serious or critical violation fails the story. Exits non-zero on any
// failure.
//
// env: CARINFO_URL, ISSUE_STICKER_CMD (prints a sticker UUID), SCREENSHOT_DIR,
//      VISITOR_REPLICA / OWNER_REPLICA (pin each side to a gateway replica), CHROMIUM_PATH.
import { execSync } from 'node:child_process';
import { randomInt, randomBytes, createECDH, createDecipheriv, hkdfSync } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.CARINFO_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const SHOTS = resolve(process.env.SCREENSHOT_DIR || './test-artifacts/e2e');
const STEP_MS = 15000;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// A flag-like value ("1", "true") means "use this side's default replica"; anything else
// is taken as the replica's name.
function replica(value, fallback) {
  if (!value) return '';
  return `?replica=${encodeURIComponent(/^(1|true|yes|on)$/i.test(value) ? fallback : value)}`;
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
// The inbox's list of rooms, whatever spelling of the path; a room's messages do not count.
const ROOM_LIST = /^\/(back\/)?api\/chat\/rooms\/?$/;

mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ARGS,
});

const pages = {};
const pageErrors = [];
const consoleLines = [];
async function newPage(name, locale) {
  const ctx = await browser.newContext({ locale, viewport: { width: 390, height: 844 } });
  ctx.setDefaultTimeout(STEP_MS);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') consoleLines.push(`${name}: ${m.text()}`); });
  pages[name] = page;
  return page;
}

let passed = 0;
async function step(title, fn) {
  const started = Date.now();
  const n = passed + 1;
  try {
    let timer;
    // Each wait inside has its own 15 s limit; this one only stops a step that hangs outside them.
    await Promise.race([fn(n), new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('step timed out')), 4 * STEP_MS); })])
      .finally(() => clearTimeout(timer));
    if (pageErrors.length) throw new Error(`uncaught page errors:\n  ${pageErrors.join('\n  ')}`);
    passed += 1;
    console.log(`ok ${n} - ${title} (${Date.now() - started} ms)`);
  } catch (e) {
    console.log(`not ok ${n} - ${title}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
    for (const [name, page] of Object.entries(pages)) {
      await page.screenshot({ path: join(SHOTS, `failed-${n}-${name}.png`), fullPage: true }).catch(() => {});
    }
    if (consoleLines.length) console.log(`  browser console errors:\n    ${consoleLines.slice(-20).join('\n    ')}`);
    console.log(`${passed} passed, 1 failed`);
    await browser.close().catch(() => {});
    process.exit(1);
  }
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const msg = (page, sender, text) => page.locator(`[data-testid="msg"][data-sender="${sender}"]`, { hasText: text });
const confirmed = (page) => page.locator('[data-state="delivered"], [data-state="seen"]');

// Runs axe-core on the page as it is; serious and critical violations fail the step.
async function a11y(page, state) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (!bad.length) return;
  const lines = bad.map((v) => `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${
    v.nodes.slice(0, 5).map((nd) => `      ${nd.target.join(' ')}: ${nd.failureSummary.replace(/\s*\n\s*/g, ' ')}`).join('\n')}`);
  throw new Error(`axe: ${state} has ${bad.length} serious or critical violation(s):\n    ${lines.join('\n    ')}`);
}

// Requests for the room list, recorded per page from the moment `watch` is called.
const listRequests = [];
function watchRoomList(page) {
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (ROOM_LIST.test(url.pathname)) listRequests.push(`${req.method()} ${url.pathname}`);
  });
}
async function channelLive(page) {
  await page.locator('[data-testid="inbox"][data-channel="live"]').waitFor({ state: 'attached' });
}

const phone = `+99890${String(randomInt(0, 1e7)).padStart(7, '0')}`;
const password = `e2e-${randomBytes(9).toString('base64url')}`;
const plate = `01 A ${randomInt(100, 1000)} BC`;
const answer = `Coming in 2 minutes (${randomBytes(3).toString('hex')})`;
let sticker = '';
let quickText = '';

await step('owner activates a freshly issued sticker', async (n) => {
  const cmd = process.env.ISSUE_STICKER_CMD;
  if (!cmd) throw new Error('ISSUE_STICKER_CMD is not set');
  const out = execSync(cmd, { encoding: 'utf8', shell: '/bin/bash', timeout: 60000, stdio: ['ignore', 'pipe', 'inherit'] });
  sticker = (out.match(UUID) || [])[0];
  if (!sticker) throw new Error(`ISSUE_STICKER_CMD printed no UUID: ${JSON.stringify(out)}`);
  const a = await newPage('activate', 'uz-UZ');
  await a.goto(`${BASE}/u/${sticker}`);
  await a.getByTestId('activate-form').waitFor();
  await a11y(a, 'the activation form');
  await a.getByTestId('f-phone_number').fill(phone);
  await a.getByTestId('f-password').fill(password);
  await a.getByTestId('f-full_name').fill('E2E Owner');
  await a.getByTestId('f-car_model').fill('Chevrolet Cobalt');
  await a.getByTestId('f-car_plate_number').fill(plate);
  await a.getByTestId('f-is_profile_public').check();
  await a.getByTestId('activate-submit').click();
  await a.getByTestId('activated').waitFor();
  await a11y(a, 'the activated sticker');
  await shot(a, `${n}-activated`);
});

await step('the owner logs in and waits in the live inbox', async (n) => {
  const c = await newPage('owner', 'ru-RU');
  await c.goto(`${BASE}/app/${replica(process.env.OWNER_REPLICA, 'b')}`);
  await c.getByTestId('login-form').waitFor();
  await a11y(c, 'the login form');
  await c.getByTestId('login-phone').fill(phone);
  await c.getByTestId('login-password').fill(password);
  await c.getByTestId('login-submit').click();
  await c.getByTestId('no-rooms').waitFor();
  // Live means: the owner channel is open and the one list fetch after it has been applied.
  await channelLive(c);
  watchRoomList(c);
  // A reload would drop this mark; the inbox must change without one.
  await c.evaluate(() => { window.sameDocument = true; });
  await a11y(c, 'the empty inbox');
  await shot(c, `${n}-owner-inbox-live`);
});

await step('a stranger scans the sticker and writes; the open inbox shows it at once', async (n) => {
  const b = await newPage('visitor', 'en-US');
  await b.goto(`${BASE}/u/${sticker}${replica(process.env.VISITOR_REPLICA, 'a')}`);
  await b.getByTestId('profile').waitFor();
  await b.getByTestId('chat').waitFor();
  await a11y(b, 'the visitor page');
  const shownPlate = (await b.getByTestId('plate').textContent()).trim();
  const norm = (v) => v.replace(/\s+/g, '').toUpperCase(); // the server may normalise plates
  if (norm(shownPlate) !== norm(plate)) throw new Error(`profile shows plate ${JSON.stringify(shownPlate)}, expected ${plate}`);
  const quick = b.getByTestId('quick-blocking');
  quickText = (await quick.textContent()).trim();
  await quick.click();
  await msg(b, 'visitor', quickText).and(confirmed(b)).waitFor();
  await shot(b, `${n}-visitor-sent`);

  const c = pages.owner;
  await c.getByTestId('room').filter({ hasText: quickText }).waitFor();
  if (!(await c.evaluate(() => window.sameDocument === true))) throw new Error('the inbox reloaded to show the new room');
  if (listRequests.length) throw new Error(`the inbox asked for the room list while its channel was up: ${listRequests.join(', ')}`);
  await channelLive(c);
  await a11y(c, 'the inbox with a new conversation');
  await a11y(b, 'the visitor page with a sent message');
  await shot(c, `${n}-owner-inbox-updated`);
});

await step('the owner opens the room: the stranger sees "seen", then "typing…"', async (n) => {
  const b = pages.visitor;
  const c = pages.owner;
  await c.getByTestId('room').filter({ hasText: quickText }).click();
  await msg(c, 'visitor', quickText).waitFor();
  await a11y(c, 'the conversation');
  await msg(b, 'visitor', quickText).and(b.locator('[data-state="seen"]')).waitFor();
  await c.getByTestId('message-input').fill(answer);
  await b.getByTestId('typing').filter({ hasText: /typing…/ }).waitFor();
  await a11y(b, 'the visitor page with "seen" and "typing…"');
  await shot(b, `${n}-visitor-seen-typing`);
});

await step('the owner answers; the stranger sees it live and the owner sees it read', async (n) => {
  const b = pages.visitor;
  const c = pages.owner;
  await c.getByTestId('send').click();
  await msg(c, 'owner', answer).and(confirmed(c)).waitFor();
  const count = await msg(c, 'visitor', quickText).count();
  if (count !== 1) throw new Error(`owner sees the visitor's message ${count} times`);
  await msg(b, 'owner', answer).waitFor();
  await shot(b, `${n}-visitor-got-answer`);
  await msg(c, 'owner', answer).and(c.locator('[data-state="seen"]')).waitFor();
  await a11y(c, 'the conversation with an answer read');
  await shot(c, `${n}-owner-answer-seen`);
  if (listRequests.length) throw new Error(`the inbox asked for the room list while its channel was up: ${listRequests.join(', ')}`);
});

await step('after a reload the stranger still sees both messages', async (n) => {
  const b = pages.visitor;
  await b.reload();
  await msg(b, 'visitor', quickText).and(confirmed(b)).waitFor();
  await msg(b, 'owner', answer).waitFor();
  for (const [sender, text] of [['visitor', quickText], ['owner', answer]]) {
    const count = await msg(b, sender, text).count();
    if (count !== 1) throw new Error(`after reload the ${sender} message is shown ${count} times`);
  }
  await shot(b, `${n}-visitor-reloaded`);
});

const chatState = (page, state) => page.locator(`[data-testid="chat"][data-state="${state}"]`);
const roomState = (page, state) => page.locator(`[data-testid="conversation"][data-state="${state}"]`);
const settingsState = (page, attr, value) => page.locator(`[data-testid="settings"][data-${attr}="${value}"]`);
const again = `Thank you, waiting (${randomBytes(3).toString('hex')})`;
let roomId = '';

await step('the owner closes the conversation: the stranger sees it closed and cannot write', async (n) => {
  const b = pages.visitor;
  const c = pages.owner;
  roomId = new URL(c.url()).hash.replace(/^#room[/=]/, '');
  if (!UUID.test(roomId)) throw new Error(`the conversation's URL names no room: ${c.url()}`);
  await c.getByTestId('room-close').click();
  await roomState(c, 'closed').waitFor();
  await c.getByTestId('room-reopen').waitFor();
  await chatState(b, 'closed').waitFor();
  await b.getByTestId('chat-state-text').filter({ hasText: /closed this chat/ }).waitFor();
  for (const id of ['message-input', 'send', 'quick-lights']) {
    if (!(await b.getByTestId(id).isDisabled())) throw new Error(`the visitor's ${id} is enabled in a closed chat`);
  }
  await b.getByTestId('new-chat').waitFor();
  await a11y(c, 'the closed conversation');
  await a11y(b, 'the visitor page of a closed chat');
  await shot(b, `${n}-visitor-closed`);
  await shot(c, `${n}-owner-closed`);

  // After a reload the page learns it from the refusal of the next message, unless the
  // server has said so first.
  await b.reload();
  await msg(b, 'owner', answer).waitFor();
  await b.locator('[data-testid="chat-status"]', { hasText: 'Connected' }).waitFor();
  if (await b.getByTestId('message-input').isEnabled()) {
    await b.getByTestId('message-input').fill('Anyone there?');
    await b.getByTestId('send').click();
    await msg(b, 'visitor', 'Anyone there?').and(b.locator('[data-state="failed"]')).waitFor();
  }
  await chatState(b, 'closed').waitFor();
  if (!(await b.getByTestId('message-input').isDisabled())) throw new Error('after a reload the closed chat takes messages');
});

await step('the owner reopens it: the stranger writes again', async (n) => {
  const b = pages.visitor;
  const c = pages.owner;
  await c.getByTestId('room-reopen').click();
  await roomState(c, 'open').waitFor();
  await chatState(b, 'reopened').waitFor();
  await b.getByTestId('message-input').fill(again);
  await b.getByTestId('send').click();
  await msg(b, 'visitor', again).and(confirmed(b)).waitFor();
  await msg(c, 'visitor', again).waitFor();
  await a11y(b, 'the visitor page of a reopened chat');
  await shot(b, `${n}-visitor-reopened`);
});

await step('the owner pauses the sticker: a new stranger sees the owner\'s contacts instead of a chat', async (n) => {
  const c = pages.owner;
  await c.getByTestId('back').click();
  await settingsState(c, 'paused', 'false').waitFor();
  await c.getByTestId('pause-sticker').click();
  await settingsState(c, 'paused', 'true').waitFor();
  await c.getByTestId('quiet-1h').click();
  await settingsState(c, 'quiet-hours', 'on').waitFor();
  await a11y(c, 'the inbox with the sticker paused and quiet hours on');
  await shot(c, `${n}-owner-paused`);

  const d = await newPage('newcomer', 'uz-UZ');
  await d.goto(`${BASE}/u/${sticker}${replica(process.env.VISITOR_REPLICA, 'a')}`);
  await d.getByTestId('chat').waitFor();
  await d.getByTestId('quick-window').click();
  await chatState(d, 'paused').waitFor();
  await d.getByTestId('chat-state-links').getByTestId('link-call').waitFor();
  await d.locator('[data-testid="msg"][data-state="failed"]').waitFor();
  await a11y(d, 'the visitor page of a paused sticker');
  await shot(d, `${n}-newcomer-paused`);

  await c.getByTestId('quiet-off').click();
  await settingsState(c, 'quiet-hours', 'off').waitFor();
  await c.getByTestId('pause-sticker').click();
  await settingsState(c, 'paused', 'false').waitFor();
  // The refused message stays "not sent"; a new one starts the chat now.
  await d.getByTestId('quick-window').click();
  await msg(d, 'visitor', /\S/).and(confirmed(d)).waitFor();
  if (await d.getByTestId('chat-state-text').filter({ hasText: /\S/ }).count()) throw new Error('the paused notice outlived the pause');
  await c.getByTestId('room').nth(1).waitFor();
});

await step('the owner blocks the first stranger: the same browser cannot start a new chat', async (n) => {
  const b = pages.visitor;
  const c = pages.owner;
  await c.locator(`[data-testid="room"][data-room-id="${roomId}"]`).click();
  await msg(c, 'visitor', again).waitFor();
  let asked = '';
  c.once('dialog', (dialog) => { asked = dialog.message(); dialog.accept(); });
  await c.getByTestId('room-block').click();
  await roomState(c, 'blocked').waitFor();
  await c.getByTestId('room-unblock').waitFor();
  if (!asked) throw new Error('blocking asked for no confirmation');
  await a11y(c, 'the blocked conversation');
  await shot(c, `${n}-owner-blocked`);

  await chatState(b, 'closed').waitFor();
  const key = await b.evaluate(() => localStorage.getItem('carinfo.visitor_key'));
  if (!key) throw new Error('the visitor page keeps no visitor_key');
  await b.getByTestId('new-chat').click();
  await b.getByTestId('message-input').fill('Hello again');
  await b.getByTestId('send').click();
  await chatState(b, 'blocked').waitFor();
  await b.getByTestId('chat-state-text').filter({ hasText: /blocked/ }).waitFor();
  if (!(await b.getByTestId('message-input').isDisabled())) throw new Error('the blocked visitor can still type');
  const keyAfter = await b.evaluate(() => localStorage.getItem('carinfo.visitor_key'));
  if (keyAfter !== key) throw new Error('the visitor_key changed');
  await a11y(b, 'the visitor page of a blocked browser');
  await shot(b, `${n}-visitor-blocked`);

  await c.getByTestId('room-unblock').click();
  await roomState(c, 'open').waitFor();
  await c.getByTestId('back').click();
  await c.locator(`[data-testid="room"][data-room-id="${roomId}"]`).waitFor();
  if (await c.locator(`[data-room-id="${roomId}"] [data-testid="room-flag"]`).count()) throw new Error('the unblocked room is still flagged');
});

// A push service of our own on loopback, standing in for the browser vendor's: it takes the
// notifier's requests and decrypts them (RFC 8291, aes128gcm, one record) with the keys of the
// subscription it hands out, as the browser would. The notifier must accept http endpoints
// on loopback for this (PUSH_ALLOW_PRIVATE_ENDPOINTS=true, which ci.sh sets).
async function pushService() {
  const ecdh = createECDH('prime256v1');
  const uaPublic = ecdh.generateKeys();
  const auth = randomBytes(16);
  const received = [];
  const hkdf = (ikm, salt, info, len) => Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'latin1'), len));
  function decrypt(body) {
    const salt = body.subarray(0, 16);
    const idlen = body[20];
    const asPublic = body.subarray(21, 21 + idlen);
    const record = body.subarray(21 + idlen);
    const ikm = hkdf(ecdh.computeSecret(asPublic), auth, Buffer.concat([Buffer.from('WebPush: info\0', 'latin1'), uaPublic, asPublic]), 32);
    const decipher = createDecipheriv('aes-128-gcm', hkdf(ikm, salt, 'Content-Encoding: aes128gcm\0', 16), hkdf(ikm, salt, 'Content-Encoding: nonce\0', 12));
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end -= 1;
    if (plain[end] !== 2) throw new Error('the push is not one final record');
    return plain.subarray(0, end).toString('utf8');
  }
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (ch) => chunks.push(ch));
    req.on('end', () => {
      const item = { method: req.method, headers: req.headers };
      try { item.text = decrypt(Buffer.concat(chunks)); } catch (e) { item.error = String(e); }
      received.push(item);
      res.writeHead(201);
      res.end();
    });
  });
  await new Promise((r) => { server.listen(0, '127.0.0.1', r); });
  return {
    received,
    subscription: {
      endpoint: `http://127.0.0.1:${server.address().port}/push/${randomBytes(12).toString('hex')}`,
      expirationTime: null,
      keys: { p256dh: uaPublic.toString('base64url'), auth: auth.toString('base64url') },
    },
    close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }),
  };
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

await step('notifications: the worker registers, the notifier pushes a new chat, the worker shows it', async (n) => {
  const c = pages.owner;
  const origin = new URL(BASE).origin;
  await c.context().grantPermissions(['notifications'], { origin });
  const vapid = await c.evaluate(async () => {
    const r = await fetch('/api/push/vapid-key/');
    return { status: r.status, body: await r.text() };
  });
  const key = vapid.status === 200 ? JSON.parse(vapid.body).public_key : null;
  if (typeof key !== 'string' || Buffer.from(key, 'base64url').length !== 65) {
    throw new Error(`GET /api/push/vapid-key/ answered ${vapid.status} ${vapid.body}: no uncompressed P-256 key`);
  }

  const cdp = await c.context().newCDPSession(c);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) registrations.set(r.registrationId, r);
  });
  await cdp.send('ServiceWorker.enable');

  // The switch registers the worker and asks the browser for a subscription.
  await c.getByTestId('notify-switch').click();
  await c.locator('[data-testid="settings"][data-push="on"], [data-testid="settings"][data-push="failed"]').waitFor();
  await a11y(c, 'the inbox after switching notifications on');
  const active = await c.evaluate(async () => !!(await navigator.serviceWorker.getRegistration('/static/'))?.active);
  if (!active) throw new Error('no active service worker at /static/');
  const subscribed = await c.locator('[data-testid="settings"][data-push="on"]').count() === 1;
  if (!subscribed) {
    const why = await c.evaluate(async (k) => {
      const reg = await navigator.serviceWorker.getRegistration('/static/');
      const bytes = Uint8Array.from(atob(k.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));
      try { await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes }); return 'subscribed on a second try'; } catch (e) { return `${e.name}: ${e.message}`; }
    }, key);
    console.log(`# this browser has no push service (pushManager.subscribe: ${why}); the notifier pushes to a loopback one instead`);
  }

  // The notifier's side, through a push service on loopback.
  const push = await pushService();
  try {
    const statuses = await c.evaluate(async (body) => {
      const { access } = JSON.parse(sessionStorage.getItem('carinfo.tokens'));
      const call = async (method, b, auth = true) => {
        const r = await fetch('/api/push/subscriptions/', {
          method,
          headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: `Bearer ${access}` } : {}) },
          body: JSON.stringify(b),
        });
        return `${r.status} ${await r.text()}`.trim();
      };
      return { anonymous: await call('POST', body, false), created: await call('POST', body) };
    }, push.subscription);
    if (!statuses.anonymous.startsWith('401') || !statuses.created.startsWith('201')) {
      throw new Error(`POST /api/push/subscriptions/: anonymous ${statuses.anonymous}, with the owner's token ${statuses.created} (expected 401, 201)`);
    }

    // A new stranger starts a chat; the notifier pushes it.
    const name = `Neighbour ${randomBytes(2).toString('hex')}`;
    const e = await newPage('pusher', 'ru-RU');
    await e.goto(`${BASE}/u/${sticker}${replica(process.env.VISITOR_REPLICA, 'a')}`);
    await e.getByTestId('visitor-name').fill(name);
    const alarm = (await e.getByTestId('quick-alarm').textContent()).trim();
    await e.getByTestId('quick-alarm').click();
    await msg(e, 'visitor', alarm).and(confirmed(e)).waitFor();
    const newRoom = await e.evaluate((k) => JSON.parse(localStorage.getItem(k)).room_id, `carinfo.chat.${sticker}`);
    const started = Date.now();
    while (!push.received.length) {
      if (Date.now() - started > 2 * STEP_MS) throw new Error('the notifier pushed nothing to the subscription');
      await sleep(100);
    }
    const got = push.received[0];
    if (got.error) throw new Error(`the push could not be decrypted: ${got.error}`);
    const auth = String(got.headers.authorization || '');
    if (got.method !== 'POST' || got.headers['content-encoding'] !== 'aes128gcm' || !auth.startsWith('vapid ') || !auth.includes(`k=${key}`)) {
      throw new Error(`the push request is not Web Push with this VAPID key: ${got.method} ${JSON.stringify(got.headers)}`);
    }
    const payload = JSON.parse(got.text);
    const expected = { room: name, message: alarm }[payload.type];
    if (payload.room_id !== newRoom || payload.url !== `/app/#room=${newRoom}` || !payload.title || payload.body !== expected
      || Object.keys(payload).sort().join() !== 'body,room_id,title,type,url') {
      throw new Error(`the push payload ${got.text} does not announce room ${newRoom} (visitor ${name}, message ${alarm})`);
    }

    // What the service worker makes of exactly that payload.
    let reg = null;
    while (!(reg = [...registrations.values()].find((r) => r.scopeURL === `${origin}/static/` && !r.isDeleted))) {
      if (Date.now() - started > 3 * STEP_MS) throw new Error(`DevTools reported no registration for ${origin}/static/`);
      await sleep(100);
    }
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: reg.registrationId, data: got.text });
    let shown = [];
    while (!shown.length) {
      shown = await c.evaluate(async (tag) => {
        const r = await navigator.serviceWorker.getRegistration('/static/');
        return (await r.getNotifications({ tag })).map((x) => ({ title: x.title, body: x.body, tag: x.tag, url: x.data?.url }));
      }, newRoom);
      if (shown.length) break;
      if (Date.now() - started > 4 * STEP_MS) throw new Error('the push showed no notification');
      await sleep(100);
    }
    const note = shown[0];
    if (note.title !== payload.title || note.body !== payload.body || note.url !== `${origin}${payload.url}`) {
      throw new Error(`the notification shows ${JSON.stringify(note)} for the push ${got.text}`);
    }
    console.log(`# pushed and shown: ${got.text}`);

    const deleted = await c.evaluate(async (endpoint) => {
      const { access } = JSON.parse(sessionStorage.getItem('carinfo.tokens'));
      const r = await fetch('/api/push/subscriptions/', {
        method: 'DELETE',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${access}` },
        body: JSON.stringify({ endpoint }),
      });
      return r.status;
    }, push.subscription.endpoint);
    if (deleted !== 204) throw new Error(`DELETE /api/push/subscriptions/ answered ${deleted}, expected 204`);
    await shot(c, `${n}-owner-notifications`);

    // Where the notification leads: the app opens the conversation from #room=<id>.
    await c.goto(`${BASE}/app/${replica(process.env.OWNER_REPLICA, 'b')}#room=${newRoom}`);
    await msg(c, 'visitor', alarm).waitFor();
    await a11y(c, 'the conversation a notification opened');
  } finally {
    await push.close();
  }

  if (subscribed) {
    await c.getByTestId('nav-inbox').click();
    await c.getByTestId('notify-switch').click();
    await settingsState(c, 'push', 'off').waitFor();
  }
  await cdp.detach();
});

await browser.close();
console.log(`${passed} passed, 0 failed`);
