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

export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

// short keeps the end of a peer ID or module hash, the part that differs.
export const short = (id, n = 10) => (id && id.length > n + 1 ? '…' + id.slice(-n) : id || '');
