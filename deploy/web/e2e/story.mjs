// The product's story in a real browser, three separate profiles: the owner activates a
// sticker (A) and waits in the live inbox (C), a stranger scans the sticker and writes (B), the
// new conversation reaches the inbox over the owner channel with no list request, the owner
// opens it (the stranger sees "seen", then "typing…") and answers, the stranger sees the answer
// live and again after a reload. axe-core checks every page state on the way; a serious or
// critical violation fails the story. Exits non-zero on any failure.
//
// env: CARINFO_URL, ISSUE_STICKER_CMD (prints a sticker UUID), SCREENSHOT_DIR,
//      VISITOR_REPLICA / OWNER_REPLICA (pin each side to a gateway replica), CHROMIUM_PATH.
import { execSync } from 'node:child_process';
import { randomInt, randomBytes } from 'node:crypto';
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

await browser.close();
console.log(`${passed} passed, 0 failed`);
