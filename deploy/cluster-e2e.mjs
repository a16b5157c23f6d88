// The guide's whole flow through the ingress of a running cluster (deploy/cluster.sh), with
// exact assertions on statuses and bodies, and the chat across two gateway replicas: the
// visitor's socket pinned to replica A, the owner's to replica B. One line per check; the
// first failure ends the run with a non-zero status.
//
//   CARINFO_URL        the ingress, e.g. http://127.0.0.1:8080
//   ISSUE_STICKER_CMD  shell command that issues one sticker and prints its UUID
//   GATEWAY_A_UPSTREAM / GATEWAY_B_UPSTREAM  (optional) host:port of each replica, to check
//                      that each socket landed on the replica it was pinned to, not only on
//                      two different ones
//   SECRETS_OUT        (optional) a file to write, at the end, every credential and phone
//                      number the story used (JSON: [{"kind", "value"}]), for
//                      deploy/check-logs-for-secrets.py to look for in the cluster's logs
//
// Needs `npm ci` in deploy/web/e2e, where its one dependency (`ws`) is installed; runs from
// any directory (ISSUE_STICKER_CMD runs in the caller's):
//   node deploy/cluster-e2e.mjs
import { execSync } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// The only dependency is installed with the browser story's, not next to this file.
const require = createRequire(new URL('./web/e2e/package.json', import.meta.url));
const WebSocket = require('ws');

const BASE = (process.env.CARINFO_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const WS_BASE = BASE.replace(/^http/, 'ws');
const WAIT_MS = 10000;
// A frame that was not broadcast must not arrive; how long to listen for one.
const QUIET_MS = 750;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const OWNER_KEYS = ['id', 'phone_number', 'full_name', 'phone_number_2', 'car_model',
  'car_plate_number', 'instagram', 'telegram', 'whatsapp', 'is_profile_public'];
const ROOM_KEYS = ['id', 'owner_id', 'visitor_name', 'is_active', 'created_at', 'updated_at'];
// Added beyond the guide for the owner's inbox; clients that do not know them ignore them.
const ROOM_EXTRA_KEYS = ['last_message', 'unread_count', 'visitor_last_read_id', 'is_blocked'];
const FRAME_KEYS = ['id', 'room_id', 'sender_type', 'message', 'created_at'];
const HISTORY_KEYS = ['id', 'room_id', 'sender_type', 'content', 'created_at'];

let passed = 0;
const sockets = [];
// What must never appear in a log: every token, password and phone number sent or received.
const secrets = [];
const remember = (kind, value) => { if (value) secrets.push({ kind, value }); };

function fail(title, error) {
  console.log(`not ok ${passed + 1} - ${title}`);
  console.log(`  ${String(error && error.stack ? error.stack : error).split('\n').join('\n  ')}`);
  console.log(`cluster e2e: ${passed} passed, 1 failed`);
  for (const s of sockets) s.terminate();
  process.exit(1);
}

async function check(title, fn) {
  const started = Date.now();
  try {
    await fn();
  } catch (e) {
    fail(title, e);
  }
  passed += 1;
  console.log(`ok ${passed} - ${title} (${Date.now() - started} ms)`);
}

const show = (v) => JSON.stringify(v);

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, what) {
  // Key order is not part of the contract; compare canonical forms.
  const canon = (v) => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
  if (canon(actual) !== canon(expected)) {
    throw new Error(`${what}:\n  expected ${show(expected)}\n  got      ${show(actual)}`);
  }
}

function assertKeys(object, keys, what) {
  assert(object && typeof object === 'object' && !Array.isArray(object), `${what} is not an object: ${show(object)}`);
  assertEqual(Object.keys(object).sort(), [...keys].sort(), `${what} keys`);
}

async function http(method, path, { body, token, headers = {} } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, redirect: 'manual' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, { ...init, signal: AbortSignal.timeout(WAIT_MS) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function expectStatus(res, status, what) {
  assert(res.status === status, `${what}: expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert(res.json !== undefined, `${what}: the body is not JSON: ${res.text.slice(0, 300)}`);
  const type = res.headers.get('content-type') || '';
  assert(type.startsWith('application/json'), `${what}: Content-Type is ${show(type)}`);
}

// A socket whose frames are queued, so a test can wait for the next one or assert that
// none arrives. Resolves once the handshake is done, with the handshake response's headers.
function openSocket(name, path, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(WS_BASE + path, { headers, handshakeTimeout: WAIT_MS });
    sockets.push(ws);
    const frames = [];
    const waiters = [];
    const sock = { name, ws, frames, upgradeHeaders: {} };
    ws.on('upgrade', (res) => { sock.upgradeHeaders = res.headers; });
    ws.on('message', (data, isBinary) => {
      const frame = { text: data.toString(), isBinary };
      const waiter = waiters.shift();
      if (waiter) waiter(frame);
      else frames.push(frame);
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`${name}: handshake answered HTTP ${res.statusCode}`));
      res.resume();
    });
    ws.once('open', () => resolve(sock));
    ws.once('error', (e) => reject(new Error(`${name}: ${e.message}`)));
    ws.on('close', (code, reason) => { sock.closed = { code, reason: reason.toString() }; });
    sock.next = (ms = WAIT_MS) => new Promise((res, rej) => {
      if (frames.length) { res(frames.shift()); return; }
      if (sock.closed) { rej(new Error(`${name}: socket closed ${show(sock.closed)}`)); return; }
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(done), 1);
        rej(new Error(`${name}: no frame within ${ms} ms`));
      }, ms);
      const done = (f) => { clearTimeout(timer); res(f); };
      waiters.push(done);
    });
  });
}

async function nextJson(sock) {
  const frame = await sock.next();
  assert(!frame.isBinary, `${sock.name}: got a binary frame`);
  try {
    return JSON.parse(frame.text);
  } catch {
    throw new Error(`${sock.name}: frame is not JSON: ${frame.text.slice(0, 200)}`);
  }
}

async function expectSilence(sock) {
  await new Promise((r) => setTimeout(r, QUIET_MS));
  assert(sock.frames.length === 0, `${sock.name} got a frame it should not have: ${sock.frames[0]?.text}`);
}

function checkFrame(frame, expected, what) {
  assertKeys(frame, FRAME_KEYS, what);
  assert(UUID.test(frame.id), `${what}: id ${show(frame.id)} is not a UUID`);
  assert(TIMESTAMP.test(frame.created_at), `${what}: created_at ${show(frame.created_at)} is not ISO 8601 UTC with microseconds`);
  assertEqual({ room_id: frame.room_id, sender_type: frame.sender_type, message: frame.message }, expected, what);
}

// --- the story ------------------------------------------------------------------------------

const phone = `+99890${String(randomInt(0, 1e7)).padStart(7, '0')}`;
const password = `e2e-${randomBytes(9).toString('base64url')}`;
const profile = {
  phone_number: phone,
  full_name: 'Cluster E2E Owner',
  phone_number_2: `+99891${String(randomInt(0, 1e7)).padStart(7, '0')}`,
  car_model: 'Nexia',
  car_plate_number: `01A${randomInt(100, 1000)}BC`,
  instagram: 'carinfo_e2e',
  telegram: 'carinfo_e2e',
  whatsapp: '+998901234567',
  is_profile_public: true,
};
// The login phone as owners type it; the service normalises it to `phone`.
const phoneAsTyped = `+998 ${phone.slice(4, 6)} ${phone.slice(6, 9)}-${phone.slice(9, 11)}-${phone.slice(11)}`;
remember('password', password);
for (const [kind, number] of [['phone_number', phone], ['phone_number_2', profile.phone_number_2]]) {
  remember(kind, number);
  remember(`${kind} (digits only)`, number.slice(1));
}
remember('phone_number (as typed)', phoneAsTyped);
const visitorName = 'Neighbour';
const visitorText = 'Salom';
const ownerText = `Hozir chiqaman (${randomBytes(3).toString('hex')})`;

let sticker;
let owner; // the owner object as registered
let access;
let refresh;
let room;
let visitorToken;
let visitor;
let ownerSock;
let visitorFrame;
let ownerFrame;
// The history form of the two broadcast frames: `content` where the socket says `message`.
const history = () => [visitorFrame, ownerFrame].map(({ message, ...rest }) => ({ ...rest, content: message }));

console.log(`cluster e2e against ${BASE}`);

await check('ISSUE_STICKER_CMD issues one sticker and prints its UUID', async () => {
  const cmd = process.env.ISSUE_STICKER_CMD;
  assert(cmd, 'ISSUE_STICKER_CMD is not set');
  const out = execSync(cmd, { encoding: 'utf8', shell: '/bin/bash', timeout: 60000, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  assert(lines.length === 1 && UUID.test(lines[0]), `expected one UUID on stdout, got ${show(out)}`);
  [sticker] = lines;
});

await check('GET /back/api/stickers/<id>/ → 200, not registered yet', async () => {
  const res = await http('GET', `/back/api/stickers/${sticker}/`);
  expectStatus(res, 200, 'sticker status');
  assertEqual(res.json, { id: sticker, is_registered: false }, 'sticker status');
});

await check('POST /back/api/user/register/ → 201 with the owner object', async () => {
  const res = await http('POST', '/back/api/user/register/', { body: { user_id: sticker, password, ...profile } });
  expectStatus(res, 201, 'register');
  assertKeys(res.json, OWNER_KEYS, 'registered user');
  assertEqual(res.json, { id: sticker, ...profile }, 'registered user');
  owner = res.json;
});

await check('registering the same sticker again → 400 "User already registered. Please login."', async () => {
  const res = await http('POST', '/back/api/user/register/', { body: { user_id: sticker, password, ...profile } });
  expectStatus(res, 400, 'duplicate register');
  assertEqual(res.json, { user_id: ['User already registered. Please login.'] }, 'duplicate register');
});

await check('GET /api/stickers/<id>/ → 200, registered', async () => {
  const res = await http('GET', `/api/stickers/${sticker}/`);
  expectStatus(res, 200, 'sticker status');
  assertEqual(res.json, { id: sticker, is_registered: true }, 'sticker status');
});

await check('POST /api/login/ → 200 {tokens: {refresh, access}, user}', async () => {
  const res = await http('POST', '/api/login/', { body: { phone_number: phone, password } });
  expectStatus(res, 200, 'login');
  assertKeys(res.json, ['tokens', 'user'], 'login');
  assertKeys(res.json.tokens, ['refresh', 'access'], 'login tokens');
  assertEqual(res.json.user, owner, 'login user');
  ({ access, refresh } = res.json.tokens);
  assert(typeof access === 'string' && access.split('.').length === 3, `access is not a JWT: ${show(access)}`);
  assert(typeof refresh === 'string' && refresh.split('.').length === 3, `refresh is not a JWT: ${show(refresh)}`);
  remember('access token', access);
  remember('refresh token', refresh);
});

await check('POST /api/login/ with the phone as typed ("+998 90 123-45-67") → 200, the same user', async () => {
  const res = await http('POST', '/back/api/login/', { body: { phone_number: phoneAsTyped, password } });
  expectStatus(res, 200, 'login as typed');
  assertEqual(res.json.user, owner, 'login user');
  remember('access token', res.json.tokens.access);
  remember('refresh token', res.json.tokens.refresh);
});

await check('POST /api/token/refresh/ → 200 {access}', async () => {
  const res = await http('POST', '/api/token/refresh/', { body: { refresh } });
  expectStatus(res, 200, 'refresh');
  assertKeys(res.json, ['access'], 'refresh');
  assert(res.json.access.split('.').length === 3, `access is not a JWT: ${show(res.json.access)}`);
  access = res.json.access;
  remember('access token (refreshed)', access);
});

await check('GET /api/profile/ with Bearer → 200, the owner object', async () => {
  const res = await http('GET', '/api/profile/', { token: access });
  expectStatus(res, 200, 'profile');
  assertEqual(res.json, owner, 'profile');
});

await check('PATCH /api/profile/ {"car_model": "Cobalt"} → 200, only car_model changed', async () => {
  const res = await http('PATCH', '/api/profile/', { token: access, body: { car_model: 'Cobalt' } });
  expectStatus(res, 200, 'profile patch');
  owner = { ...owner, car_model: 'Cobalt' };
  assertEqual(res.json, owner, 'patched profile');
  const again = await http('GET', '/back/api/profile/', { token: access });
  expectStatus(again, 200, 'profile after patch');
  assertEqual(again.json, owner, 'profile after patch');
});

let publicOwner;
await check('GET /user/<id>/ → 200, the public object (no is_profile_public)', async () => {
  const res = await http('GET', `/user/${sticker}/`);
  expectStatus(res, 200, 'public user');
  const { is_profile_public: _, ...expected } = owner;
  assertEqual(res.json, expected, 'public user');
  publicOwner = expected;
});

await check('GET /api/users/ → 200, lists the public object', async () => {
  const res = await http('GET', '/api/users/');
  expectStatus(res, 200, 'public users');
  assert(Array.isArray(res.json), `not a list: ${res.text.slice(0, 200)}`);
  const mine = res.json.filter((u) => u && u.id === sticker);
  assert(mine.length === 1, `the user appears ${mine.length} times`);
  assertEqual(mine[0], publicOwner, 'listed user');
});

await check('POST /api/chat/start/ → 201 exactly {room_id, visitor_token, ws_path}', async () => {
  // The gateway learns owners from accounts-api's events, so it may take a moment after
  // registration before it knows this one.
  const deadline = Date.now() + WAIT_MS;
  let res;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    res = await http('POST', '/back/api/chat/start/', { body: { user_id: sticker, visitor_name: visitorName } });
    const unknownOwner = res.status === 400 && show(res.json) === show({ user_id: ['User not found.'] });
    if (!unknownOwner || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (attempts > 1) console.log(`  the gateway knew the owner after ${attempts} attempts`);
  expectStatus(res, 201, 'chat start');
  assertKeys(res.json, ['room_id', 'visitor_token', 'ws_path'], 'chat start');
  ({ room_id: room, visitor_token: visitorToken } = res.json);
  remember('visitor token', visitorToken);
  assert(UUID.test(room) && UUID.test(visitorToken), `room_id/visitor_token are not UUIDs: ${res.text}`);
  assertEqual(res.json.ws_path, `/ws/chat/${room}/`, 'ws_path');
});

await check('visitor socket /ws/chat/<room>/?visitor= opens, pinned to replica A', async () => {
  visitor = await openSocket('visitor', `/ws/chat/${room}/?visitor=${visitorToken}`, { 'X-CarInfo-Replica': 'a' });
});

await check('owner socket /back/ws/chat/<room>/?token= opens, pinned to replica B', async () => {
  ownerSock = await openSocket('owner', `/back/ws/chat/${room}/?token=${access}`, { 'X-CarInfo-Replica': 'b' });
});

await check('the two sockets were answered by different gateway processes', async () => {
  const a = visitor.upgradeHeaders['x-carinfo-upstream'];
  const b = ownerSock.upgradeHeaders['x-carinfo-upstream'];
  assert(a && b, `the handshakes do not name their upstream (X-CarInfo-Upstream: ${show(a)}, ${show(b)})`);
  assert(a !== b, `both sockets went to ${a}`);
  if (process.env.GATEWAY_A_UPSTREAM) assertEqual(a, process.env.GATEWAY_A_UPSTREAM, 'visitor upstream');
  if (process.env.GATEWAY_B_UPSTREAM) assertEqual(b, process.env.GATEWAY_B_UPSTREAM, 'owner upstream');
  console.log(`  visitor via ${a}, owner via ${b}`);
});

await check('visitor sends {"message":"Salom"} → both sockets get the broadcast', async () => {
  visitor.ws.send(JSON.stringify({ message: visitorText }));
  const expected = { room_id: room, sender_type: 'visitor', message: visitorText };
  visitorFrame = await nextJson(visitor);
  checkFrame(visitorFrame, expected, 'visitor echo');
  const atOwner = await nextJson(ownerSock);
  checkFrame(atOwner, expected, 'owner copy');
  assertEqual(atOwner, visitorFrame, 'the frame on replica B is the frame on replica A');
});

await check('owner replies → the visitor gets sender_type "owner"', async () => {
  ownerSock.ws.send(JSON.stringify({ message: ownerText }));
  const expected = { room_id: room, sender_type: 'owner', message: ownerText };
  ownerFrame = await nextJson(ownerSock);
  checkFrame(ownerFrame, expected, 'owner echo');
  const atVisitor = await nextJson(visitor);
  checkFrame(atVisitor, expected, 'visitor copy');
  assertEqual(atVisitor, ownerFrame, 'the frame on replica A is the frame on replica B');
  assert(ownerFrame.id !== visitorFrame.id, 'two messages share an id');
});

await check('an invalid frame {"message": ""} → {"error": …} to its sender only, socket stays open', async () => {
  visitor.ws.send(JSON.stringify({ message: '' }));
  const reply = await nextJson(visitor);
  assertKeys(reply, ['error'], 'error frame');
  assert(typeof reply.error === 'string' && reply.error.length > 0, `error is not a message: ${show(reply)}`);
  await expectSilence(ownerSock);
  assert(visitor.ws.readyState === WebSocket.OPEN, `visitor socket closed: ${show(visitor.closed)}`);
  // Still served, not just not yet closed.
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no pong after the error frame')), WAIT_MS);
    visitor.ws.once('pong', () => { clearTimeout(timer); resolve(); });
    visitor.ws.ping();
  });
});

await check('a wrong visitor token is refused with HTTP 403', async () => {
  const guess = randomUUID();
  remember('visitor token (refused guess)', guess);
  const err = await openSocket('intruder', `/ws/chat/${room}/?visitor=${guess}`, { 'X-CarInfo-Replica': 'a' })
    .then(() => null, (e) => e);
  assert(err, 'the handshake succeeded');
  assert(/HTTP 403$/.test(err.message), err.message);
  await expectSilence(visitor);
});

await check('GET /api/chat/rooms/ with Bearer → 200, the room first, with the guide\'s keys', async () => {
  const res = await http('GET', '/api/chat/rooms/', { token: access });
  expectStatus(res, 200, 'rooms');
  assert(Array.isArray(res.json) && res.json.length >= 1, `not a non-empty list: ${res.text.slice(0, 200)}`);
  const [first] = res.json;
  assertKeys(first, [...ROOM_KEYS, ...ROOM_EXTRA_KEYS], 'room');
  assertEqual({ id: first.id, owner_id: first.owner_id, visitor_name: first.visitor_name, is_active: first.is_active },
    { id: room, owner_id: sticker, visitor_name: visitorName, is_active: true }, 'room');
  for (const key of ['created_at', 'updated_at']) {
    assert(TIMESTAMP.test(first[key]), `${key} ${show(first[key])} is not ISO 8601 UTC with microseconds`);
  }
  assert(first.updated_at >= ownerFrame.created_at, `updated_at ${first.updated_at} is before the last message ${ownerFrame.created_at}`);
  assertEqual(first.last_message, history()[1], 'last_message');
  assert(Number.isInteger(first.unread_count) && first.unread_count >= 0, `unread_count ${show(first.unread_count)}`);
});

await check('GET /api/chat/rooms/<room>/messages/?visitor= → both messages, oldest first', async () => {
  const res = await http('GET', `/api/chat/rooms/${room}/messages/?visitor=${visitorToken}`);
  expectStatus(res, 200, 'visitor history');
  assert(Array.isArray(res.json), `not a list: ${res.text.slice(0, 200)}`);
  res.json.forEach((m, i) => assertKeys(m, HISTORY_KEYS, `message ${i}`));
  assertEqual(res.json, history(), 'visitor history');
});

await check('GET /back/api/chat/rooms/<room>/messages/ with Bearer → the same messages', async () => {
  const res = await http('GET', `/back/api/chat/rooms/${room}/messages/`, { token: access });
  expectStatus(res, 200, 'owner history');
  assertEqual(res.json, history(), 'owner history');
});

await check('unknown paths → 404 {"detail": "Not found."}', async () => {
  for (const path of ['/api/nope/', '/back/nope/', '/api/chat/nope/', `/user/${randomUUID()}/`]) {
    const res = await http('GET', path);
    expectStatus(res, 404, path);
    assertEqual(res.json, { detail: 'Not found.' }, path);
  }
});

for (const s of sockets) s.close(1000);
if (process.env.SECRETS_OUT) writeFileSync(process.env.SECRETS_OUT, JSON.stringify(secrets));
console.log(`cluster e2e: ${passed} passed, 0 failed`);
