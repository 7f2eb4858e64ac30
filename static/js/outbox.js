/* The outbox: inspections saved on this phone that the server does not have yet.

   Each submission is one IndexedDB record keyed by its client_uuid, with its photos as Blobs,
   and is deleted only after the server answered 2xx. Sending runs on page load, on `online`,
   when the page becomes visible, on the 立即上传 buttons and on a back-off timer:
   - first it asks /api/v1/session who is logged in and for a fresh CSRF token, so a token that
     expired while the phone was offline does not matter;
   - photos go one request each (POST /api/v1/photos); the sha256 the server answers is saved
     in the record, so a retry never sends a photo the server already has;
   - then the inspection (POST /api/v1/buildings/<code>/inspections), photos by reference; the
     server treats client_uuid as the idempotency key, so sending twice creates one record;
   - network errors, 408, 429 and 5xx back off exponentially; 401 waits for a login; any other
     4xx parks the record with the server's message: shown, kept, never dropped.
   One tab sends at a time (Web Locks); the others follow along through a BroadcastChannel.
   Also here: the header indicator (待上传 N and progress), the outbox page's list, the warning
   before logout, and the service worker's registration and warm-up. */
(function () {
  'use strict';

  const DB_NAME = 'inspect-outbox';
  const ITEMS = 'items';
  const SENT = 'sent';
  const LOCK = 'inspect-outbox-send';
  const WARM_KEY = 'inspect-warm';
  const WARM_EVERY_MS = 10 * 60 * 1000;

  const box = document.getElementById('outbox');
  const S = box ? JSON.parse(box.dataset.strings || '{}') : {};
  const user = box ? box.dataset.user || '' : '';
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel('inspect-outbox') : null;
  const state = { sending: null, remote: null, note: '' };
  let lastCount = 0;

  function fmt(template, values) {
    return String(template || '').replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
  }

  /* ---- storage ---- */

  let opened = null;
  function openDb() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = () => {
          req.result.createObjectStore(ITEMS, { keyPath: 'id' });
          req.result.createObjectStore(SENT, { keyPath: 'id' });
        };
        req.onsuccess = () => {
          const db = req.result;
          db.onversionchange = () => { db.close(); opened = null; };
          resolve(db);
        };
        req.onerror = () => { opened = null; reject(req.error); };
      });
    }
    return opened;
  }

  // Writes ask for strict durability: "saved" must survive the phone dying a second later.
  async function run(store, mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = mode === 'readwrite'
        ? db.transaction(store, mode, { durability: 'strict' })
        : db.transaction(store, mode);
      let result;
      const req = fn(tx.objectStore(store));
      if (req) req.onsuccess = () => { result = req.result; };
      tx.oncomplete = () => resolve(result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  }

  const all = () => run(ITEMS, 'readonly', (s) => s.getAll())
    .then((list) => list.sort((a, b) => a.created - b.created));
  const get = (id) => run(ITEMS, 'readonly', (s) => s.get(id));
  const put = (item) => run(ITEMS, 'readwrite', (s) => s.put(item));
  const sentLog = () => run(SENT, 'readonly', (s) => s.getAll())
    .then((list) => list.sort((a, b) => b.at - a.at));

  async function logSent(entry) {
    await run(SENT, 'readwrite', (s) => s.put(entry));
    for (const old of (await sentLog()).slice(20)) {
      await run(SENT, 'readwrite', (s) => s.delete(old.id));
    }
  }

  /** Save a submission (replacing one with the same client_uuid) and make it due now. */
  async function add(item) {
    const record = Object.assign({ user, created: Date.now() }, item, {
      state: 'pending', attempts: 0, next: 0, error: null,
    });
    await put(record);
    askPersistence();
    changed();
    return record;
  }

  function askPersistence() {
    const storage = navigator.storage;
    if (!storage || !storage.persist) return;
    storage.persisted().then((yes) => yes || storage.persist()).catch(() => {});
  }

  // Discarding and retrying take the send lock: a record being sent cannot be changed under it.
  function locked(fn, wait) {
    if (!navigator.locks) return Promise.resolve().then(() => fn(true));
    return navigator.locks.request(LOCK, wait ? {} : { ifAvailable: true }, (lock) => fn(!!lock));
  }

  function discard(id) {
    return locked(() => run(ITEMS, 'readwrite', (s) => s.delete(id)), true).then(changed);
  }

  function retry(id) {
    return locked(async () => {
      const item = await get(id);
      if (!item) return;
      Object.assign(item, { state: 'pending', attempts: 0, next: 0, error: null });
      await put(item);
    }, true).then(() => { changed(); return sync({ force: true }); });
  }

  /* ---- sending ---- */

  async function probe() {
    const r = await fetch('/api/v1/session', {
      credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' },
    });
    if (!r.ok) throw new Error('session probe ' + r.status);
    return r.json();
  }

  function xhr(url, body, token, onprogress) {
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open('POST', url);
      x.setRequestHeader('Accept', 'application/json');
      x.setRequestHeader('X-CSRFToken', token || '');
      x.timeout = 5 * 60 * 1000;
      if (onprogress) {
        x.upload.onprogress = (e) => { if (e.lengthComputable) onprogress(e.loaded); };
      }
      x.onload = () => {
        let json = null;
        try { json = JSON.parse(x.responseText); } catch (e) { json = null; }
        resolve({ status: x.status, ok: x.status >= 200 && x.status < 300, json });
      };
      x.onerror = x.ontimeout = x.onabort = () => resolve({ status: 0, ok: false, json: null });
      x.send(body);
    });
  }

  // A 400 here is what a stale CSRF token gets: ask for a fresh one and try once more.
  async function post(url, body, session, onprogress) {
    let r = await xhr(url, body, session.csrf_token, onprogress);
    if (r.status === 400) {
      const fresh = await probe().catch(() => null);
      if (fresh && fresh.authenticated) {
        session.csrf_token = fresh.csrf_token;
        r = await xhr(url, body, session.csrf_token, onprogress);
      }
    }
    return r;
  }

  const retryable = (status) => status === 0 || status === 408 || status === 429 || status >= 500;

  function backoff(attempts) {
    const base = Math.min(10 * 60 * 1000, 5000 * Math.pow(2, Math.min(attempts - 1, 12)));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  function apiUrl(item) {
    return '/api/v1/buildings/' + encodeURIComponent(item.building.code) + '/inspections';
  }

  // Photos the server already has, as the form's reference fields (…-photo_refs-M).
  function references(item) {
    const taken = {};
    for (const [name] of item.fields) {
      const m = /^(.*-(?:after_)?photo_refs)-(\d+)$/.exec(name);
      if (m) taken[m[1]] = Math.max(taken[m[1]] || 0, Number(m[2]) + 1);
    }
    const out = [];
    for (const photo of item.photos) {
      if (!photo.sha256) continue;
      const list = photo.field.replace(/photos$/, 'photo_refs');
      const n = taken[list] || 0;
      taken[list] = n + 1;
      out.push([list + '-' + n, photo.sha256]);
    }
    return out;
  }

  const refsLost = (json) => !!(json && json.errors &&
    Object.keys(json.errors).some((k) => /photo_refs$/.test(k)));

  async function failed(item, r) {
    if (r.status === 401) return { state: 'login' };
    const message = (r.json && r.json.message) || '';
    if (retryable(r.status)) {
      item.attempts = (item.attempts || 0) + 1;
      item.next = Date.now() + backoff(item.attempts);
      item.error = { status: r.status, message };
      await put(item);
      return { state: r.status === 0 ? 'network' : 'retry' };
    }
    item.state = 'parked';
    item.error = { status: r.status, message, errors: (r.json && r.json.errors) || null };
    await put(item);
    return { state: 'parked', error: item.error };
  }

  /** Send one record now: photos the server lacks, then the inspection. Resolves to
      {state: 'sent', url} | {state: 'parked', error} | {state: 'retry' | 'network' | 'login'}. */
  async function sendItem(item, session, report) {
    const unsent = item.photos.filter((p) => !p.sha256);
    const total = unsent.reduce((n, p) => n + p.blob.size, 0) + 4096;
    let done = 0;
    const progress = (loaded) => report && report(Math.min(1, (done + loaded) / total));
    for (const photo of unsent) {
      const body = new FormData();
      body.append('photo', photo.blob, photo.name || 'photo.jpg');
      const r = await post('/api/v1/photos', body, session, progress);
      if (!r.ok) return failed(item, r);
      photo.sha256 = r.json.sha256;
      done += photo.blob.size;
      await put(item);
    }
    const body = new FormData();
    for (const [k, v] of item.fields.concat(references(item))) body.append(k, v);
    const r = await post(apiUrl(item), body, session, progress);
    if (r.ok) {
      await run(ITEMS, 'readwrite', (s) => s.delete(item.id));
      const url = r.json && r.json.url;
      await logSent({ id: item.id, building: item.building, url, at: Date.now() });
      if (report) report(1);
      return { state: 'sent', url };
    }
    // Photos sent long ago may have been swept as unused: send them again, once.
    if (r.status === 422 && refsLost(r.json) && !item.refsReset) {
      item.photos.forEach((p) => { p.sha256 = null; });
      item.refsReset = true;
      await put(item);
      return sendItem(item, session, report);
    }
    return failed(item, r);
  }

  async function drain(force) {
    if (!navigator.onLine) return;
    const pending = (await all()).filter((i) => i.state === 'pending');
    if (!pending.length) return;
    let session;
    try {
      session = await probe();
    } catch (e) {
      return; // no network after all; `online` or the timer brings us back
    }
    if (!session.authenticated) { state.note = 'login'; return; }
    state.note = '';
    const due = pending.filter((i) => i.user === session.username &&
      (force || !i.next || i.next <= Date.now()));
    let sent = 0;
    for (let k = 0; k < due.length; k++) {
      const item = await get(due[k].id); // it may have changed or gone meanwhile
      if (!item || item.state !== 'pending') continue;
      state.sending = { id: item.id, index: k + 1, count: due.length, fraction: 0 };
      changed();
      const outcome = await sendItem(item, session, progress);
      state.sending = null;
      changed();
      if (outcome.state === 'sent') sent += 1;
      if (outcome.state === 'login') state.note = 'login';
      if (outcome.state === 'network' || outcome.state === 'login') break;
    }
    // The buildings just inspected changed: refresh the pages kept for offline use.
    if (sent) warm(true);
  }

  let running = null;
  let again = null;
  let timer = null;

  /** Send what is due (everything pending with {force: true}); one run at a time. */
  function sync(opts) {
    const force = !!(opts && opts.force);
    if (running) {
      again = { force: force || !!(again && again.force) };
      return running;
    }
    running = locked((mine) => (mine ? drain(force) : null))
      .catch(() => {})
      .finally(() => {
        running = null;
        state.sending = null;
        render();
        schedule();
        if (again) { const next = again; again = null; sync(next); }
      });
    return running;
  }

  async function schedule() {
    clearTimeout(timer);
    const waiting = (await all().catch(() => []))
      .filter((i) => i.state === 'pending' && i.user === user && i.next);
    if (!waiting.length || !user) return;
    const at = Math.min.apply(null, waiting.map((i) => i.next));
    timer = setTimeout(() => sync(), Math.max(1000, at - Date.now()));
  }

  /** Send this one record now, waiting for another tab's run to finish first. */
  function sendNow(id) {
    return locked(async () => {
      const item = await get(id);
      if (!item) {
        const sent = (await sentLog()).find((e) => e.id === id);
        return sent ? { state: 'sent', url: sent.url } : { state: 'gone' };
      }
      if (item.state !== 'pending') return { state: item.state, error: item.error };
      if (!navigator.onLine) return { state: 'network' };
      let session;
      try { session = await probe(); } catch (e) { return { state: 'network' }; }
      if (!session.authenticated) return { state: 'login' };
      state.sending = { id, index: 1, count: 1, fraction: 0 };
      changed();
      try {
        return await sendItem(item, session, progress);
      } finally {
        state.sending = null;
        changed();
        schedule();
      }
    }, true);
  }

  /* ---- what the user sees ---- */

  let lastBroadcast = 0;
  function progress(fraction) {
    if (!state.sending) return;
    state.sending.fraction = fraction;
    const bar = box && box.querySelector('progress');
    if (bar) bar.value = fraction;
    const now = Date.now();
    if (channel && now - lastBroadcast > 200) {
      lastBroadcast = now;
      channel.postMessage({ type: 'progress', sending: state.sending });
    }
    document.dispatchEvent(new CustomEvent('outbox:progress', { detail: state.sending }));
  }

  function changed() {
    if (channel) channel.postMessage({ type: 'changed', sending: state.sending });
    render();
  }

  async function render() {
    const items = await all().catch(() => []);
    const mine = items.filter((i) => !user || i.user === user);
    lastCount = items.filter((i) => i.user === user).length;
    if (box) {
      const parked = mine.filter((i) => i.state === 'parked').length;
      const sending = state.sending || state.remote;
      let text = fmt(S.pending, { n: mine.length });
      if (parked) text += ' · ' + fmt(S.parked, { n: parked });
      if (sending) text = fmt(S.sending, { i: sending.index, n: sending.count });
      if (!navigator.onLine) text += ' · ' + S.offline;
      else if (state.note === 'login') text += ' · ' + S.login;
      box.hidden = !mine.length && !sending;
      box.querySelector('.outbox-count').textContent = text;
      box.classList.toggle('has-parked', parked > 0);
      const bar = box.querySelector('progress');
      bar.hidden = !sending;
      if (sending) bar.value = sending.fraction || 0;
      box.querySelector('[data-outbox-send]').hidden =
        !!sending || !user || mine.length === parked;
    }
    document.dispatchEvent(new CustomEvent('outbox:change', { detail: { items } }));
  }

  if (channel) {
    channel.onmessage = (e) => {
      if (!e.data) return;
      state.remote = e.data.sending || null;
      if (e.data.type === 'progress') {
        const bar = box && box.querySelector('progress');
        if (bar && state.remote) { bar.hidden = false; bar.value = state.remote.fraction || 0; }
        document.dispatchEvent(new CustomEvent('outbox:progress', { detail: state.remote }));
      } else {
        render();
      }
    };
  }

  /* ---- the outbox page ---- */

  const list = document.getElementById('outbox-list');
  const L = list ? JSON.parse(list.dataset.strings || '{}') : {};

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function when(ms) {
    return new Date(ms).toLocaleString(document.documentElement.lang || undefined, {
      month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    });
  }

  function statusText(item) {
    const sending = state.sending || state.remote;
    if (sending && sending.id === item.id) {
      return L.sending + ' ' + Math.round((sending.fraction || 0) * 100) + '%';
    }
    if (item.user !== user) return fmt(L.other_user, { u: item.user });
    if (item.state === 'parked') {
      return fmt(L.parked, { status: item.error.status, message: item.error.message || '' });
    }
    if (state.note === 'login') return L.login;
    if (item.next && item.next > Date.now()) return fmt(L.retry_at, { t: when(item.next) });
    return L.waiting;
  }

  function errorLines(item) {
    const errors = (item.error && item.error.errors) || {};
    const lines = [];
    for (const [name, messages] of Object.entries(errors)) {
      const m = /^((?:findings|followups)-\d+)/.exec(name);
      const title = (m && item.titles && item.titles[m[1]]) || '';
      for (const message of [].concat(messages)) {
        lines.push(title ? fmt(L.error_line, { title, message }) : message);
      }
    }
    return lines;
  }

  function drawList(items) {
    if (!list) return;
    list.replaceChildren();
    if (!items.length) list.append(el('li', { class: 'empty' }, L.empty));
    for (const item of items) {
      const li = el('li', { class: 'outbox-item state-' + item.state, 'data-id': item.id });
      li.append(el('strong', {}, item.building.name || item.building.code));
      li.append(el('small', {}, when(item.created) + ' · ' +
        fmt(L.photos, { n: item.photos.length })));
      li.append(el('small', { class: 'status' }, statusText(item)));
      const lines = errorLines(item);
      if (lines.length) {
        const ul = el('ul', { class: 'errors' });
        lines.forEach((line) => ul.append(el('li', {}, line)));
        li.append(ul);
      }
      if (item.state === 'parked' && item.user === user) {
        const actions = el('p', { class: 'actions' });
        actions.append(el('a', {
          class: 'button',
          href: '/buildings/' + item.building.id + '/inspections/new#outbox=' + item.id,
        }, L.edit));
        actions.append(el('button', { type: 'button', 'data-retry': item.id }, L.retry));
        actions.append(el('button', { type: 'button', 'data-discard': item.id }, L.discard));
        li.append(actions);
      }
      list.append(li);
    }
  }

  async function drawSent() {
    const ul = document.getElementById('outbox-sent');
    if (!ul) return;
    ul.replaceChildren();
    for (const entry of (await sentLog()).slice(0, 10)) {
      const li = el('li');
      li.append(el('strong', {}, entry.building.name || entry.building.code));
      const line = el('small', {}, L.sent_item + ' ' + when(entry.at) + ' ');
      if (entry.url) line.append(el('a', { href: entry.url }, L.view));
      li.append(line);
      ul.append(li);
    }
  }

  async function drawStorage() {
    const p = document.getElementById('outbox-storage');
    const storage = navigator.storage;
    if (!p || !storage || !storage.estimate) return;
    const persisted = storage.persisted ? await storage.persisted() : false;
    const estimate = await storage.estimate();
    const mb = ((estimate.usage || 0) / 1048576).toFixed(1) + ' MB';
    p.textContent = (persisted ? L.persisted : L.not_persisted) + ' ' + fmt(L.usage, { used: mb });
  }

  if (list) {
    document.addEventListener('outbox:change', (e) => { drawList(e.detail.items); drawSent(); });
    document.addEventListener('outbox:progress', (e) => {
      const sending = e.detail;
      const row = sending && list.querySelector('[data-id="' + sending.id + '"] .status');
      if (row) row.textContent = L.sending + ' ' + Math.round((sending.fraction || 0) * 100) + '%';
    });
    list.addEventListener('click', (e) => {
      const retryId = e.target.getAttribute('data-retry');
      const discardId = e.target.getAttribute('data-discard');
      if (retryId) retry(retryId);
      if (discardId && window.confirm(L.confirm_discard)) discard(discardId);
    });
    drawStorage();
  }

  /* ---- logout, kept pages, service worker ---- */

  // A page the service worker kept carries old CSRF tokens: refresh them once online.
  async function refreshTokens() {
    const session = await probe().catch(() => null);
    if (!session || !session.authenticated) return;
    document.querySelectorAll('input[name=csrf_token]').forEach((input) => {
      input.value = session.csrf_token;
    });
  }

  function ask(worker, message) {
    return new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = (e) => resolve(e.data);
      worker.postMessage(message, [ch.port2]);
    });
  }

  /** Bring the phone's offline copy of the user's pages up to date (at most every few
      minutes unless `force`); sets html[data-offline-ready] when it is complete. */
  function warm(force) {
    if (!user || !navigator.onLine || !('serviceWorker' in navigator)) return Promise.resolve(null);
    let last = null;
    try { last = JSON.parse(localStorage.getItem(WARM_KEY) || 'null'); } catch (e) { last = null; }
    if (!force && last && last.user === user && last.ok && Date.now() - last.at < WARM_EVERY_MS) {
      document.documentElement.dataset.offlineReady = '1';
      return Promise.resolve(last);
    }
    return navigator.serviceWorker.ready
      .then((reg) => ask(reg.active, { type: 'warm' }))
      .then((r) => {
        const result = { user, ok: !!(r && r.ok), at: Date.now() };
        localStorage.setItem(WARM_KEY, JSON.stringify(result));
        if (result.ok) document.documentElement.dataset.offlineReady = '1';
        return r;
      })
      .catch(() => null);
  }

  async function forgetPages() {
    localStorage.removeItem(WARM_KEY);
    if ('caches' in window) await caches.delete('pages').catch(() => {});
  }

  // Logging out keeps the unsent inspections (they go up when the same user logs in again),
  // but asks first; the pages kept for the user are dropped on the login page (below).
  document.addEventListener('submit', (e) => {
    const action = e.target.getAttribute('action');
    if (!action || !/\/logout$/.test(new URL(action, location.href).pathname)) return;
    if (lastCount > 0 && !window.confirm(fmt(S.confirm_logout, { n: lastCount }))) {
      e.preventDefault();
    }
  });

  function offlineBanner() {
    const saved = document.documentElement.dataset.offlineCopy;
    const main = document.querySelector('main');
    if (saved === undefined || !main || document.querySelector('.offline-banner')) return;
    const t = saved ? when(Date.parse(saved)) : '';
    main.prepend(el('p', { class: 'offline-banner', role: 'status' }, fmt(S.offline_copy, { t })));
  }

  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('[data-outbox-send]');
    if (button) sync({ force: true });
  });
  window.addEventListener('online', () => {
    render();
    if (document.documentElement.dataset.offlineCopy !== undefined) refreshTokens();
    sync({ force: true });
    warm();
  });
  window.addEventListener('offline', render);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') sync();
  });
  window.addEventListener('pageshow', (e) => { if (e.persisted) sync(); });

  // After the page has loaded: the worker's install downloads must not slow the first paint.
  if ('serviceWorker' in navigator) {
    const register = () => {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(() => warm(), () => {});
    };
    if (document.readyState === 'complete') register();
    else window.addEventListener('load', register, { once: true });
  }

  window.InspectOutbox = {
    user, strings: S, fmt, add, get, all, discard, retry, sync, sendNow, sendItem, probe, warm,
    idle: () => running || Promise.resolve(),
  };

  // Nobody is logged in here: what was kept for the last user must not outlive the session.
  if (box && box.dataset.session === 'out') forgetPages();
  offlineBanner();
  if (navigator.onLine && document.documentElement.dataset.offlineCopy !== undefined) {
    refreshTokens();
  }
  render();
  sync();
})();
