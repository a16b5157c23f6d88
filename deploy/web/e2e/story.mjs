// The product's story in a real browser, three separate profiles: the owner activates a
// sticker (A), a stranger scans it and writes (B), the owner logs in and answers (C), the
// stranger sees the answer live and again after a reload. Exits non-zero on any failure.
//
// env: CARINFO_URL, ISSUE_STICKER_CMD (prints a sticker UUID), SCREENSHOT_DIR,
//      VISITOR_REPLICA / OWNER_REPLICA (pin each side to a gateway replica), CHROMIUM_PATH.
import { execSync } from 'node:child_process';
import { randomInt, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
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
  await a.getByTestId('f-phone_number').fill(phone);
  await a.getByTestId('f-password').fill(password);
  await a.getByTestId('f-full_name').fill('E2E Owner');
  await a.getByTestId('f-car_model').fill('Chevrolet Cobalt');
  await a.getByTestId('f-car_plate_number').fill(plate);
  await a.getByTestId('f-is_profile_public').check();
  await a.getByTestId('activate-submit').click();
  await a.getByTestId('activated').waitFor();
  await shot(a, `${n}-activated`);
});

await step('a stranger scans the sticker and sends a quick message', async (n) => {
  const b = await newPage('visitor', 'en-US');
  await b.goto(`${BASE}/u/${sticker}${replica(process.env.VISITOR_REPLICA, 'a')}`);
  await b.getByTestId('profile').waitFor();
  const shownPlate = (await b.getByTestId('plate').textContent()).trim();
  const norm = (v) => v.replace(/\s+/g, '').toUpperCase(); // the server may normalise plates
  if (norm(shownPlate) !== norm(plate)) throw new Error(`profile shows plate ${JSON.stringify(shownPlate)}, expected ${plate}`);
  const quick = b.getByTestId('quick-blocking');
  quickText = (await quick.textContent()).trim();
  await quick.click();
  await msg(b, 'visitor', quickText).and(b.locator('[data-state="delivered"]')).waitFor();
  await shot(b, `${n}-visitor-sent`);
});

await step('the owner logs in, opens the room and answers', async (n) => {
  const c = await newPage('owner', 'ru-RU');
  await c.goto(`${BASE}/app/${replica(process.env.OWNER_REPLICA, 'b')}`);
  await c.getByTestId('login-phone').fill(phone);
  await c.getByTestId('login-password').fill(password);
  await c.getByTestId('login-submit').click();
  const room = c.getByTestId('room').filter({ hasText: quickText });
  await room.waitFor();
  await room.click();
  await msg(c, 'visitor', quickText).waitFor();
  await c.getByTestId('message-input').fill(answer);
  await c.getByTestId('send').click();
  await msg(c, 'owner', answer).and(c.locator('[data-state="delivered"]')).waitFor();
  const seen = await msg(c, 'visitor', quickText).count();
  if (seen !== 1) throw new Error(`owner sees the visitor's message ${seen} times`);
  await shot(c, `${n}-owner-answered`);
});

await step('the stranger sees the answer live', async (n) => {
  const b = pages.visitor;
  await msg(b, 'owner', answer).waitFor();
  await shot(b, `${n}-visitor-got-answer`);
});

await step('after a reload the stranger still sees both messages', async (n) => {
  const b = pages.visitor;
  await b.reload();
  await msg(b, 'visitor', quickText).and(b.locator('[data-state="delivered"]')).waitFor();
  await msg(b, 'owner', answer).waitFor();
  for (const [sender, text] of [['visitor', quickText], ['owner', answer]]) {
    const count = await msg(b, sender, text).count();
    if (count !== 1) throw new Error(`after reload the ${sender} message is shown ${count} times`);
  }
  await shot(b, `${n}-visitor-reloaded`);
});

await browser.close();
console.log(`${passed} passed, 0 failed`);
