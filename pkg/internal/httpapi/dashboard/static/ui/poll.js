// Polling the gateway, asking it to cancel, and telling the user when it
// cannot be reached.

import { APIError, request } from './api.js';

export function message(err) {
  if (err instanceof APIError) return err.message;
  return `the gateway cannot be reached (${err.message}); retrying`;
}

export function setBanner(text) {
  const b = document.getElementById('banner');
  b.textContent = text;
  b.hidden = !text;
}

export const sleep = (d) => new Promise((resolve) => setTimeout(resolve, d));

// poller calls fn now and then every interval (longer when fn is slow, so a
// large list never has requests pile up), and not while the tab is hidden.
export function poller(fn, interval) {
  let timer = 0;
  let stopped = false;
  let busy = false;
  let again = false;
  const tick = async () => {
    clearTimeout(timer);
    if (stopped) return;
    if (busy) {
      again = true;
      return;
    }
    if (document.hidden) return; // visibilitychange ticks again
    busy = true;
    const start = performance.now();
    try {
      await fn();
      setBanner('');
    } catch (err) {
      if (!stopped) setBanner(message(err));
    }
    busy = false;
    if (stopped) return;
    if (again) {
      again = false;
      tick();
      return;
    }
    timer = setTimeout(tick, Math.max(interval, 5 * (performance.now() - start)));
  };
  const visible = () => {
    if (!document.hidden) tick();
  };
  document.addEventListener('visibilitychange', visible);
  tick();
  return {
    now: tick,
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', visible);
    },
  };
}

// cancelButton makes button DELETE path (a task or a job) and show the
// answer with render; it returns what removes the listener.
export function cancelButton(button, path, render, signal) {
  const onClick = async () => {
    button.disabled = true;
    try {
      const res = await request(path, { method: 'DELETE', signal });
      const body = await res.json().catch(() => ({ error: `HTTP ${res.status}: not JSON` }));
      if (res.ok) render(body);
      else setBanner(body.error);
    } catch (err) {
      if (!signal.aborted) setBanner(message(err));
    }
    button.disabled = false;
  };
  button.addEventListener('click', onClick);
  return () => button.removeEventListener('click', onClick);
}
