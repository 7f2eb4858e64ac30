/* Service worker (served at /sw.js, scope /): keeps the app shell and a worker's pages so the
   app opens without a network. It handles GET requests only. POSTs go straight to the network:
   the page's outbox (static/js/outbox.js) sends inspections itself and deletes them only after
   the server has them, so this worker never replays a POST.

   Caches: "shell-<version>" holds the static files and the offline page, and is replaced when a
   deployment changes them (the version is a digest the server writes in). "pages" holds a
   worker's pages, the offline pack and the inspection form template. It is rebuilt from the
   pack (see warm()) and cleared when the user changes or logs out. */
'use strict';

const VERSION = '__VERSION__';
const SHELL = 'shell-' + VERSION;
const PAGES = 'pages';
const PACK = '/pwa/pack.json';
const BUNDLE = 40;
// The server (inspect_app/views/pwa.py) adds every script and stylesheet under /static and the
// page icon, so a page opened offline finds all it links to.
const SHELL_URLS = ['/offline', '/manifest.webmanifest' /* __SHELL__ */];
// Pages kept as they were last seen: home, a building, the outbox. Inspection forms are not
// kept one by one; offline they are drawn from the form template and the pack.
const PAGE = /^\/(buildings\/\d+|outbox)?$/;
const FORM = /^\/buildings\/\d+\/inspections\/new$/;
// On a slow network, a kept copy is better than a blank screen after this long.
const NETWORK_TIMEOUT_MS = 6000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      // Revalidated, not refetched: what the page just loaded comes back as a 304.
      .then((cache) => cache.addAll(SHELL_URLS.map((u) => new Request(u, { cache: 'no-cache' }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith('shell-') && key !== SHELL) await caches.delete(key);
      }
      await self.clients.claim();
    })()
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(navigate(request, url));
  } else if (url.pathname.startsWith('/static/') || url.pathname === '/manifest.webmanifest') {
    event.respondWith(shellFirst(request));
  } else if (url.pathname === PACK) {
    event.respondWith(packFirst(request));
  }
  // Everything else (the API, photos, the session probe) goes to the network untouched.
});

self.addEventListener('message', (event) => {
  const port = event.ports && event.ports[0];
  const reply = (value) => port && port.postMessage(value);
  if (event.data && event.data.type === 'warm') {
    event.waitUntil(warm().then(reply, (err) => reply({ ok: false, error: String(err) })));
  }
});

// Pages: the network first (fresh data when there is a network), the kept copy without one,
// when the network is too slow, or when the server fails.
async function navigate(request, url) {
  const key = url.pathname;
  const keepable = PAGE.test(key) && !url.search;
  const kept = keepable ? await caches.match(key, { cacheName: PAGES }) : undefined;
  const fallback = kept || (FORM.test(key) ? await formTemplate() : undefined);
  try {
    const response = await withTimeout(fetch(request), fallback ? NETWORK_TIMEOUT_MS : 0);
    if (response.status >= 500 && fallback) return markOffline(fallback);
    // Only pages the pack lists are kept (a page seen before it, not at all).
    if (kept && response.ok && response.type === 'basic' && !response.redirected) {
      const tag = kept.headers.get('x-pack-tag');
      await keep(await caches.open(PAGES), key, response.clone(), tag);
    }
    return response;
  } catch (err) {
    if (fallback) return markOffline(fallback);
    return (await caches.match('/offline', { cacheName: SHELL })) ||
      new Response('offline', { status: 503, headers: { 'Content-Type': 'text/plain' } });
  }
}

// The inspection form for any building: the template the pack names (form.js fills it in).
async function formTemplate() {
  const pack = await caches.match(PACK, { cacheName: PAGES })
    .then((r) => r && r.json()).catch(() => null);
  return pack && pack.template ? caches.match(pack.template.url, { cacheName: PAGES }) : undefined;
}

function withTimeout(promise, ms) {
  if (!ms) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e) => { clearTimeout(timer); reject(e); }
    );
  });
}

// A kept page says so: the page shows when it was saved and refreshes its CSRF tokens.
async function markOffline(response) {
  const html = await response.text();
  const saved = response.headers.get('x-sw-saved') || '';
  const marked = html.replace('<html', '<html data-offline-copy="' + saved + '"');
  const headers = new Headers(response.headers);
  headers.delete('Content-Length');
  return new Response(marked, { status: 200, headers });
}

async function keep(cache, key, response, tag) {
  const headers = new Headers(response.headers);
  headers.set('x-sw-saved', new Date().toISOString());
  if (tag) headers.set('x-pack-tag', tag);
  const body = await response.blob();
  await cache.put(key, new Response(body, { status: response.status, headers }));
}

async function shellFirst(request) {
  const hit = await caches.match(request, { cacheName: SHELL });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL);
    await cache.put(request, response.clone());
  }
  return response;
}

async function packFirst(request) {
  const hit = await caches.match(PACK, { cacheName: PAGES });
  return hit || fetch(request);
}

/* Bring the kept pages up to date with the user's pack: fetch what is missing or changed
   (each page carries the tag it was fetched under), drop what left the user's scope, and
   store the pack last, so a stored pack means everything it lists is kept. */
let warming = null;
function warm() {
  if (!warming) warming = doWarm().finally(() => { warming = null; });
  return warming;
}

async function doWarm() {
  const response = await fetch(PACK, { cache: 'no-store', credentials: 'same-origin' });
  const type = response.headers.get('Content-Type') || '';
  if (!response.ok || response.redirected || !type.includes('json')) {
    return { ok: false, status: response.status };
  }
  const pack = await response.clone().json();
  let cache = await caches.open(PAGES);
  const previous = await cache.match(PACK).then((r) => r && r.json()).catch(() => null);
  if (previous && previous.user !== pack.user) {
    await caches.delete(PAGES);
    cache = await caches.open(PAGES);
  }
  const wanted = pack.pages.slice();
  if (pack.template) wanted.push(pack.template);
  const todo = [];
  for (const page of wanted) {
    const hit = await cache.match(page.url);
    if (!hit || hit.headers.get('x-pack-tag') !== page.tag) todo.push(page);
  }
  // Fetched together, a few dozen at a time: the pages share most of their markup.
  let failed = 0;
  for (let i = 0; i < todo.length; i += BUNDLE) {
    const batch = todo.slice(i, i + BUNDLE);
    const query = batch.map((p) => 'path=' + encodeURIComponent(p.url)).join('&');
    try {
      const r = await fetch('/pwa/pages.json?' + query, { credentials: 'same-origin' });
      const got = r.ok && !r.redirected ? (await r.json()).pages : [];
      const tags = new Map(batch.map((p) => [p.url, p.tag]));
      for (const page of got) {
        await keep(cache, page.url, new Response(page.html, { headers: page.headers }), tags.get(page.url));
      }
      failed += batch.length - got.length;
    } catch (err) {
      failed += batch.length;
    }
  }
  const keepUrls = new Set(wanted.map((p) => p.url).concat([PACK]));
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (!keepUrls.has(path)) await cache.delete(request);
  }
  // Stored even when a page failed: the rest is usable, and the next warm retries the missing.
  await cache.put(PACK, new Response(JSON.stringify(pack), {
    headers: { 'Content-Type': 'application/json', 'x-sw-saved': new Date().toISOString() },
  }));
  return { ok: !failed, pages: wanted.length, fetched: wanted.length - failed, failed };
}
