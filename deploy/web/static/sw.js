// The owner's service worker (registered by push.js with the scope /static/): it shows the
// notifier's pushes and, when one is clicked, brings the inbox to the conversation it names.
// It intercepts no requests, so it can never serve a stale page.
//
// A push's data: {"type": "room"|"message", "room_id", "title", "body", "url": "/app/#room=<id>"}.

self.addEventListener('install', () => self.skipWaiting());

// Only this origin's inbox is ever opened, whatever a payload says.
function target(url) {
  try {
    const u = new URL(url, self.location.origin);
    if (u.origin === self.location.origin) return u.href;
  } catch { /* not a URL */ }
  return new URL('/app/', self.location.origin).href;
}

self.addEventListener('push', (event) => {
  let d = {};
  try { d = event.data ? event.data.json() : {}; } catch { d = { body: event.data.text() }; }
  const title = typeof d.title === 'string' && d.title ? d.title : 'CarInfo';
  const options = { body: typeof d.body === 'string' ? d.body : '', data: { url: target(d.url) } };
  // One notification per room: a new message replaces the room's last one, and alerts again.
  if (typeof d.room_id === 'string' && d.room_id) Object.assign(options, { tag: d.room_id, renotify: true });
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = target(event.notification.data?.url);
  event.waitUntil((async () => {
    // The inbox is outside this worker's scope, hence includeUncontrolled.
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const inbox = windows.find((c) => new URL(c.url).pathname.startsWith('/app/'));
    if (inbox) {
      inbox.postMessage({ type: 'open', url });
      await inbox.focus().catch(() => {});
      return;
    }
    await self.clients.openWindow(url);
  })());
});
