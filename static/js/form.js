/* The inspection form, made to work without a network.

   - Submitting saves the inspection in the outbox (static/js/outbox.js) first, photos shrunk on
     the phone to at most 1600 px as JPEG 0.8 (their EXIF kept, orientation applied), then sends
     it if there is a network. Success opens the inspection as the plain form would; a rejection
     shows the server's messages on the form; anything else leaves it queued, shown as such.
   - Offline, the service worker answers with the form template (every checklist item, with
     placeholders); it is filled in here from the offline pack for the building in the address.
   - #outbox=<client_uuid> reopens a queued inspection the server sent back, to fix and resend.
   Without JavaScript the form posts to the server as before. */
(function () {
  'use strict';

  const form = document.querySelector('form.inspection');
  const O = window.InspectOutbox;
  if (!form || !O) return;
  const stringsNode = document.getElementById('form-strings');
  const F = stringsNode ? JSON.parse(stringsNode.dataset.strings || '{}') : {};
  const fmt = O.fmt;
  const MAX_SIDE = 1600;
  const QUALITY = 0.8;
  // A JPEG already this small and within MAX_SIDE is sent as taken.
  const KEEP_BYTES = 1500000;
  const pathMatch = /^\/buildings\/(\d+)\/inspections\/new$/.exec(location.pathname);
  const buildingId = pathMatch ? pathMatch[1] : '';
  const submit = form.querySelector('button[type=submit]');
  const submitLabel = submit ? submit.textContent : '';
  let busy = false;
  // Until the form is ready (the template filled in), a submit must not reach the network.
  form.addEventListener('submit', (e) => { if (!form.dataset.ready) e.preventDefault(); });

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function field(name) {
    return form.elements.namedItem(name);
  }

  function uuid4() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' +
      h.slice(16, 20) + '-' + h.slice(20);
  }

  /* ---- the offline template ---- */

  // Give the fieldsets of a list consecutive indices: findings-7-… becomes findings-0-….
  function renumber(nodes, prefix) {
    const re = new RegExp('(^|\\s)' + prefix + '-\\d+(?=-|\\s|$)', 'g');
    nodes.forEach((node, k) => {
      for (const e of [node].concat(Array.from(node.querySelectorAll('*')))) {
        for (const attr of ['name', 'id', 'for', 'aria-describedby']) {
          const v = e.getAttribute(attr);
          if (v) e.setAttribute(attr, v.replace(re, '$1' + prefix + '-' + k));
        }
      }
    });
  }

  function replaceText(root, from, to) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.nodeValue.includes(from)) n.nodeValue = n.nodeValue.split(from).join(to);
    }
  }

  async function fillTemplate(marker) {
    const s = JSON.parse(marker.dataset.sentinels);
    const pack = await fetch('/pwa/pack.json', { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
    const b = buildingId && pack && pack.buildings ? pack.buildings[buildingId] : null;
    if (!b) {
      form.replaceWith(el('p', { class: 'alert', role: 'alert' }, F.not_offline));
      return null;
    }
    document.title = document.title.split(s.name).join(b.name);
    replaceText(document.body, s.name, b.name);
    const subtitle = document.querySelector('main h1 + p.muted');
    if (subtitle) replaceText(subtitle, marker.dataset.classPlaceholder, b.class_label);
    const stub = '/buildings/' + s.id;
    for (const a of document.querySelectorAll('a[href]')) {
      const href = a.getAttribute('href');
      if (href === stub || href.startsWith(stub + '/')) {
        a.setAttribute('href', '/buildings/' + buildingId + href.slice(stub.length));
      }
    }
    for (const input of document.querySelectorAll('input[name=next]')) {
      input.value = location.pathname + location.search;
    }
    form.dataset.buildingCode = b.code;
    form.dataset.buildingName = b.name;

    const wanted = new Set(b.items);
    for (const fs of form.querySelectorAll('fieldset.item[id^="item-"]')) {
      if (!wanted.has(fs.id.slice(5))) fs.remove();
    }
    for (const section of form.querySelectorAll('section.category')) {
      const n = section.querySelectorAll('fieldset.item').length;
      const count = section.querySelector('h2 small');
      if (!n) section.remove();
      else if (count) count.textContent = count.textContent.replace(/\d+/, n);
    }
    renumber(Array.from(form.querySelectorAll('fieldset.item[id^="item-"]')), 'findings');
    for (const input of form.querySelectorAll('input, textarea')) {
      if (input.value === s.unit) input.value = input.defaultValue = b.responsible_party;
    }

    const proto = form.querySelector('fieldset.followup');
    if (proto) {
      const section = proto.closest('section') || proto.parentNode;
      if (!b.followups.length) {
        section.remove();
      } else {
        for (const f of b.followups) {
          const fs = proto.cloneNode(true);
          for (const input of fs.querySelectorAll('input[type=hidden]')) {
            if (input.value === s.hazard) input.value = input.defaultValue = f.hazard;
          }
          const legend = fs.querySelector('legend');
          legend.textContent = f.text;
          legend.after(el('small', { class: 'muted' }, f.meta));
          proto.before(fs);
        }
        proto.remove();
        renumber(Array.from(section.querySelectorAll('fieldset.followup')), 'followups');
        const heading = section.querySelector('h2');
        if (heading) heading.textContent = heading.textContent.replace(/\d+/, b.followups.length);
      }
    }
    const kind = new URLSearchParams(location.search).get('kind');
    const select = field('kind');
    if (kind && select && Array.from(select.options).some((o) => o.value === kind)) {
      select.value = kind;
    }
    return b;
  }

  /* ---- reopening a queued inspection ---- */

  function indexOf(list, key, value) {
    for (const input of form.querySelectorAll('input[name^="' + list + '-"]')) {
      const m = new RegExp('^' + list + '-(\\d+)-' + key + '$').exec(input.name);
      if (m && input.value === value) return list + '-' + m[1];
    }
    return null;
  }

  function setValue(name, value) {
    const nodes = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
    if (!nodes.length && /photo_refs-\d+$/.test(name)) {
      form.append(el('input', { type: 'hidden', name, value }));
      return;
    }
    for (const node of nodes) {
      if (node.type === 'file') continue;
      if (node.type === 'radio' || node.type === 'checkbox') node.checked = node.value === value;
      else node.value = value;
    }
  }

  async function restore(id) {
    const item = await O.get(id);
    if (!item || String(item.building.id) !== buildingId) return null;
    // This form may number items differently: match them by item code and hazard id.
    const map = {};
    for (const [k, v] of item.fields) {
      let m = /^(findings-\d+)-item$/.exec(k);
      if (m) map[m[1]] = indexOf('findings', 'item', v);
      m = /^(followups-\d+)-hazard$/.exec(k);
      if (m) map[m[1]] = indexOf('followups', 'hazard', v);
    }
    const rename = (name) => {
      const m = /^((?:findings|followups)-\d+)(-.*)$/.exec(name);
      if (!m) return name;
      return map[m[1]] ? map[m[1]] + m[2] : null;
    };
    for (const input of form.querySelectorAll('input[type=radio], input[type=checkbox]')) {
      input.checked = false;
    }
    for (const [k, v] of item.fields) {
      const name = rename(k);
      if (name) setValue(name, v);
    }
    const files = {};
    for (const photo of item.photos) {
      const name = rename(photo.field);
      if (!name) continue;
      (files[name] = files[name] || []).push(
        new File([photo.blob], photo.name || 'photo.jpg', { type: photo.blob.type })
      );
    }
    for (const [name, list] of Object.entries(files)) {
      const input = form.querySelector('input[type=file][name="' + CSS.escape(name) + '"]');
      if (!input || typeof DataTransfer === 'undefined') continue;
      const dt = new DataTransfer();
      list.forEach((f) => dt.items.add(f));
      input.files = dt.files;
    }
    const errors = {};
    for (const [k, v] of Object.entries((item.error && item.error.errors) || {})) {
      errors[rename(k) || k] = v;
    }
    showRejected(Object.assign({}, item.error, { errors }), F.restored);
    return item;
  }

  /* ---- checking, messages ---- */

  function clearMessages() {
    form.querySelectorAll('.js-error').forEach((n) => n.remove());
    form.querySelectorAll('.unanswered').forEach((n) => n.classList.remove('unanswered'));
  }

  function alertBox(lines) {
    const box = el('div', { class: 'alert js-error', role: 'alert' });
    lines.forEach((line, i) => box.append(el('p', {}, i === 0 ? '' : line)));
    box.firstChild.append(el('strong', {}, lines[0]));
    form.prepend(box);
    box.scrollIntoView({ block: 'start' });
    return box;
  }

  function fieldError(node, message) {
    const where = node.closest('.field') || node.closest('fieldset') || node;
    where.append(el('p', { class: 'error js-error' }, message));
    const fs = node.closest('fieldset.item, fieldset.followup');
    if (fs) fs.classList.add('has-error');
  }

  // What the server would refuse for certain, said before anything is saved.
  function check() {
    const unanswered = [];
    for (const fs of form.querySelectorAll('fieldset.item[id^="item-"]')) {
      const answered = fs.querySelector('input[name$="-result"]:checked') ||
        Array.from(fs.querySelectorAll('input[name$="-value"]')).some((i) => i.value.trim());
      if (!answered) {
        fs.classList.add('unanswered');
        unanswered.push(fs);
      }
    }
    let undecided = 0;
    for (const fs of form.querySelectorAll('fieldset.item[id^="item-"]')) {
      const failed = fs.querySelector('input[name$="-result"][value=fail]:checked');
      const choices = fs.querySelectorAll('input[type=radio][name$="-disposition"]');
      if (failed && choices.length && !fs.querySelector('input[name$="-disposition"]:checked')) {
        undecided += 1;
        fieldError(choices[0], F.disposition);
      }
    }
    let photoless = 0;
    for (const fs of form.querySelectorAll('fieldset.item, fieldset.followup')) {
      const followup = fs.classList.contains('followup');
      const fixed = fs.querySelector('input[type=radio][value=fixed]:checked');
      const failed = followup || fs.querySelector('input[name$="-result"][value=fail]:checked');
      if (!fixed || !failed) continue;
      const key = followup ? 'photos' : 'after_photos';
      const input = fs.querySelector('input[type=file][name$="-' + key + '"]');
      const refs = Array.from(fs.querySelectorAll('input[name*="-' + key.replace(/photos$/, 'photo_refs') + '-"]'))
        .some((i) => i.value);
      if ((input && input.files.length) || refs) continue;
      photoless += 1;
      fieldError(input || fixed, followup ? F.fixed_photo : F.after_photo);
    }
    if (!unanswered.length && !photoless && !undecided) return true;
    const lines = [];
    if (unanswered.length) lines.push(fmt(F.unanswered, { n: unanswered.length }));
    if (undecided) lines.push(F.disposition);
    if (photoless) lines.push(F.after_photo);
    alertBox(lines);
    const first = form.querySelector('.unanswered, .has-error');
    if (first) first.scrollIntoView({ block: 'center' });
    return false;
  }

  function showRejected(error, lead) {
    if (!error) return;
    const loose = [];
    for (const [name, messages] of Object.entries(error.errors || {})) {
      const node = form.querySelector('[name="' + CSS.escape(name) + '"], [name^="' +
        CSS.escape(name) + '-"]');
      for (const message of [].concat(messages)) {
        if (node) fieldError(node, message);
        else loose.push(message);
      }
    }
    alertBox([lead || F.rejected, error.message || ''].concat(loose).filter(Boolean));
  }

  function titles() {
    const out = {};
    for (const fs of form.querySelectorAll('fieldset.item, fieldset.followup')) {
      const named = fs.querySelector('[name$="-item"], [name$="-hazard"]');
      const m = named && /^((?:findings|followups)-\d+)-/.exec(named.name);
      const legend = fs.querySelector('legend');
      if (m && legend) out[m[1]] = legend.textContent.replace(/\s+/g, ' ').trim();
    }
    return out;
  }

  function queued() {
    const card = el('section', { class: 'card queued', role: 'status' });
    card.append(el('h2', {}, F.saved_title), el('p', {}, F.saved_text));
    const actions = el('p', { class: 'actions' });
    actions.append(
      el('a', { class: 'button', href: '/buildings/' + buildingId }, F.to_building),
      el('a', { class: 'button', href: '/' }, F.to_list),
      el('a', { class: 'button', href: '/outbox' }, F.to_outbox)
    );
    card.append(actions);
    form.replaceWith(card);
    window.scrollTo(0, 0);
  }

  function label(text) {
    if (submit) submit.textContent = text;
  }

  /* ---- photos ---- */

  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: 'from-image' }).catch(() => viaImage(file));
    }
    return viaImage(file);
  }

  function viaImage(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error('decode')); };
      img.src = url;
    });
  }

  /** The photo as it is queued: at most MAX_SIDE px on its long side, JPEG at QUALITY, with
      the original EXIF (orientation reset, as the pixels are now upright). */
  async function shrink(file) {
    const image = await decode(file);
    const w = image.naturalWidth || image.width;
    const h = image.naturalHeight || image.height;
    const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    if (scale === 1 && file.type === 'image/jpeg' && file.size <= KEEP_BYTES) {
      if (image.close) image.close();
      // The bytes themselves: some browsers let go of a picked file after a while.
      return new Blob([await file.arrayBuffer()], { type: 'image/jpeg' });
    }
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    if (image.close) image.close();
    const out = await new Promise((resolve, reject) => {
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encode'))), 'image/jpeg', QUALITY);
    });
    const exif = file.type === 'image/jpeg' ? await exifSegment(file).catch(() => null) : null;
    if (!exif) return out;
    // After the JFIF header (APP0) when there is one, as JFIF wants it first.
    const head = new Uint8Array(await out.slice(0, 6).arrayBuffer());
    const at = head[2] === 0xff && head[3] === 0xe0 ? 4 + ((head[4] << 8) | head[5]) : 2;
    return new Blob([out.slice(0, at), exif, out.slice(at)], { type: 'image/jpeg' });
  }

  // The APP1 Exif segment of a JPEG, with Orientation set to 1 (upright).
  async function exifSegment(file) {
    const bytes = new Uint8Array(await file.slice(0, 262144).arrayBuffer());
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
    let i = 2;
    while (i + 4 <= bytes.length && bytes[i] === 0xff) {
      const marker = bytes[i + 1];
      const length = (bytes[i + 2] << 8) | bytes[i + 3];
      if (marker === 0xda || marker === 0xd9) break;
      const isExif = marker === 0xe1 && String.fromCharCode.apply(null, bytes.slice(i + 4, i + 8)) === 'Exif';
      if (isExif && i + 2 + length <= bytes.length) {
        const segment = bytes.slice(i, i + 2 + length);
        upright(new DataView(segment.buffer), 10);
        return segment;
      }
      i += 2 + length;
    }
    return null;
  }

  function upright(view, tiff) {
    const little = view.getUint16(tiff) === 0x4949;
    const ifd = tiff + view.getUint32(tiff + 4, little);
    const count = view.getUint16(ifd, little);
    for (let k = 0; k < count; k++) {
      const entry = ifd + 2 + k * 12;
      if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
    }
  }

  function jpegName(name, blob) {
    if (blob.type !== 'image/jpeg') return name || 'photo';
    return (name || 'photo').replace(/\.[^.]*$/, '') + '.jpg';
  }

  /* ---- submitting ---- */

  async function onSubmit(event) {
    event.preventDefault();
    if (busy) return;
    clearMessages();
    if (!check()) return;
    busy = true;
    if (submit) submit.disabled = true;
    label(F.saving);
    try {
      const fields = [];
      const files = [];
      for (const [k, v] of new FormData(form)) {
        if (k === 'csrf_token') continue;
        if (typeof v === 'string') fields.push([k, v]);
        else if (v.size) files.push([k, v]);
      }
      const photos = [];
      for (let n = 0; n < files.length; n++) {
        const [name, file] = files[n];
        label(fmt(F.photos, { i: n + 1, n: files.length }));
        let blob;
        try {
          blob = await shrink(file);
        } catch (err) {
          alertBox([fmt(F.photo_error, { name: file.name })]);
          return;
        }
        photos.push({ field: name, name: jpegName(file.name, blob), blob, sha256: null });
      }
      const item = await O.add({
        id: field('client_uuid').value,
        building: {
          id: buildingId,
          code: form.dataset.buildingCode,
          name: form.dataset.buildingName,
        },
        fields,
        photos,
        titles: titles(),
      });
      if (!navigator.onLine) { queued(); return; }
      label(F.sending);
      const outcome = await O.sendNow(item.id);
      if (outcome.state === 'sent') {
        location.assign(outcome.url || '/buildings/' + buildingId);
        return;
      }
      if (outcome.state === 'parked') {
        showRejected(outcome.error);
        return;
      }
      queued();
    } finally {
      busy = false;
      if (submit) { submit.disabled = false; label(submitLabel); }
    }
  }

  async function start() {
    const marker = document.getElementById('offline-template');
    if (marker && !(await fillTemplate(marker))) return;
    const reopen = /^#outbox=([0-9a-f-]{36})$/.exec(location.hash);
    const restored = reopen ? await restore(reopen[1]) : null;
    const id = field('client_uuid');
    if (!restored && id && !id.value) {
      id.value = uuid4();
      const started = field('started_at');
      if (started) started.value = new Date().toISOString();
    }
    form.addEventListener('submit', onSubmit);
    form.dataset.ready = '1';
  }

  start();
})();
