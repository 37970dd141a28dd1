// The page's small DOM and formatting helpers, shared by its views.

// el builds an element; data always goes in as text, never as markup.
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const ended = new Set(['succeeded', 'failed', 'canceled']);

export const isDone = (status) => ended.has(status);

export function badge(status) {
  return el('span', { class: 'badge ' + status, text: status });
}

// bytes writes a size in the largest unit it fills, with one decimal
// under 10: 75 B, 1.5 KiB, 120 MiB. A size that rounds up to 10 or 1024
// is written as it rounds: 10 KiB (not 10.0), 1.0 MiB (not 1024 KiB).
export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const shown = (x) => (Number(x.toFixed(1)) < 10 ? x.toFixed(1) : x.toFixed(0));
  let i = 0;
  while (i < units.length - 1 && (i === 0 ? n >= 1024 : Number(shown(n)) >= 1024)) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : shown(n)) + ' ' + units[i];
}

// short keeps the end of a peer ID or module hash, the part that differs.
export const short = (id, n = 10) => (id && id.length > n + 1 ? '…' + id.slice(-n) : id || '');

const pad = (n, w = 2) => String(n).padStart(w, '0');

// when formats a timestamp as the time of day, with the date unless today.
export function when(iso, millis = false) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  let s = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (millis) s += '.' + pad(d.getMilliseconds(), 3);
  if (d.toDateString() !== new Date().toDateString()) {
    s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${s}`;
  }
  return s;
}

export function timeCell(iso, millis = false) {
  return el('td', { class: 'time', title: iso || '', text: when(iso, millis) });
}

// seconds writes the time from start to end (or to now, while it runs)
// as seconds, '' before it started.
export function seconds(start, end) {
  if (!start) return '';
  const s = ((end ? new Date(end) : new Date()) - new Date(start)) / 1000;
  return s < 10 ? `${s.toFixed(2)} s` : `${Math.round(s)} s`;
}

// field is one name and value of a view's <dl class="fields">.
export function field(name, value, mono = false) {
  return el('div', {}, el('dt', { text: name }),
    el('dd', { class: mono ? 'mono' : '' }, value instanceof Node ? value : String(value)));
}

/**
 * syncRows makes tbody show a row per item, in order. rows maps each
 * item's key to its {tr, sig}: a row whose signature did not change is
 * kept as it is (its hover, a selection in it), a changed one is drawn
 * again with make, and rows of items gone are removed.
 */
export function syncRows(tbody, rows, items, key, sig, make) {
  const keep = new Set();
  let prev = null;
  for (const it of items) {
    const k = key(it);
    const s = sig(it);
    keep.add(k);
    let r = rows.get(k);
    if (!r || r.sig !== s) {
      const tr = make(it);
      if (r) r.tr.replaceWith(tr);
      r = { tr, sig: s };
      rows.set(k, r);
    }
    const at = prev ? prev.nextSibling : tbody.firstChild;
    if (at !== r.tr) tbody.insertBefore(r.tr, at);
    prev = r.tr;
  }
  for (const [k, r] of rows) {
    if (!keep.has(k)) {
      r.tr.remove();
      rows.delete(k);
    }
  }
}
