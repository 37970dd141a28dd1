// The gateway's API, as the page uses it: every request carries the bearer
// token the user gave (kept in sessionStorage, this tab only), and a 401
// asks for one and sends the request again. Paths are relative, so the page
// also works behind a proxy that serves the gateway under a prefix.

const tokenKey = 'shoal.token';

/** The token the page sends, or null. */
export function token() {
  return sessionStorage.getItem(tokenKey);
}

/** Forgets the token; the next request that needs one asks again. */
export function forgetToken() {
  sessionStorage.removeItem(tokenKey);
}

// askToken shows the token dialog with the gateway's reason and resolves
// when the user has given a token. Requests refused at the same time share
// one dialog.
let asking = null;

function askToken(reason) {
  if (asking) return asking;
  const dialog = document.getElementById('auth');
  const form = document.getElementById('auth-form');
  const input = document.getElementById('auth-token');
  document.getElementById('auth-message').textContent = reason;
  input.value = '';
  asking = new Promise((resolve) => {
    const done = (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      sessionStorage.setItem(tokenKey, t);
      form.removeEventListener('submit', done);
      dialog.removeEventListener('cancel', keep);
      dialog.close();
      asking = null;
      resolve();
    };
    // Escape would leave the page without data and without a way back.
    const keep = (ev) => ev.preventDefault();
    form.addEventListener('submit', done);
    dialog.addEventListener('cancel', keep);
  });
  dialog.showModal();
  input.focus();
  return asking;
}

/**
 * fetch with the token. A 401 asks for a token and tries again; any other
 * response is returned as it is.
 */
export async function request(path, init = {}) {
  for (;;) {
    const sent = token();
    const headers = new Headers(init.headers);
    if (sent) headers.set('Authorization', 'Bearer ' + sent);
    const res = await fetch(path, { ...init, headers });
    if (res.status !== 401) return res;
    const body = await res.json().catch(() => ({}));
    if (token() !== sent) continue; // another request got a new token meanwhile
    if (sent) forgetToken();
    await askToken(body.error || 'The gateway refused the request (401).');
  }
}

/** An error response of the API: its message, and the form field it names. */
export class APIError extends Error {
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.status = status;
    this.field = body.field || '';
  }
}

/** GET path and decode its JSON, or throw an APIError. */
export async function getJSON(path, init = {}) {
  const res = await request(path, init);
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}: not JSON` }));
  if (!res.ok) throw new APIError(res.status, body);
  return body;
}

/**
 * Reads a server-sent event stream (text/event-stream) with fetch, which,
 * unlike EventSource, can send the Authorization header. onEvent gets
 * (event name, data string) for each event; comments (keep-alives) are
 * skipped. It resolves when the stream ends and rejects when signal aborts
 * or the request fails.
 */
export async function readEvents(path, onEvent, signal) {
  const res = await request(path, { signal, headers: { Accept: 'text/event-stream' } });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new APIError(res.status, body);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let cr = ''; // a chunk's last \r, which may start a \r\n split across chunks
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    let text = cr + value;
    cr = text.endsWith('\r') ? '\r' : '';
    if (cr) text = text.slice(0, -1);
    buf += text.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      dispatch(block, onEvent);
    }
  }
}

// dispatch parses one event block as the HTML standard's event stream
// interpretation does, without id and retry, which the gateway never sends.
function dispatch(block, onEvent) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length) onEvent(event, data.join('\n'));
}
