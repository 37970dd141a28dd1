// A task's or a job's live log: the entries of its stream in a <pre>, the
// newest logLimit of them, with a badge saying whether it is live.

import { APIError, readEvents } from './api.js';
import { el } from './dom.js';
import { sleep } from './poll.js';

// How many log entries a page keeps in the document.
const logLimit = 5000;

// streamTags name a log entry's stream in its tag: the module's output,
// and the gateway's own lines about a process tree (reservations).
export const streamTags = { stdout: 'out', stderr: 'err', shoal: 'shoal' };

// line is one tagged line of a log: its tag, then its text in a span of
// its stream's class (stderr is drawn apart).
export function line(tag, stream, text) {
  return [el('span', { class: 'tag', text: `${tag} │ ` }),
    el('span', { class: stream, text: text.endsWith('\n') ? text : text + '\n' })];
}

// source names what wrote a log entry: a line it began in one entry goes
// on in its next.
const source = (e) => `${e.run}/${e.attempt}/${e.stream}/${e.process || 0}/${e.step || ''}`;

/**
 * followLog shows the log stream at path (GET .../logs?follow=1) in pre,
 * each entry as the nodes render(entry) returns, and calls onEnd with the
 * `end` event's task or job. Output comes in chunks, which may cut a line:
 * the text after an entry's last newline waits for the next entry of the
 * same source (or the end of the stream), so each line is rendered whole.
 * The stream sends every entry from the first, so after a dropped
 * connection it starts again from the first. It returns when the stream
 * has ended, or signal aborted.
 */
export async function followLog(path, pre, state, render, onEnd, signal) {
  let entries = 0;
  let held = new Map(); // by source: the unterminated line of its last entry
  const setState = (text, cls) => {
    state.textContent = text;
    state.className = 'badge ' + cls;
  };
  const show = (e) => {
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(el('span', { class: 'entry' }, render(e)));
    if (++entries > logLimit) pre.firstChild.remove();
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  };
  const append = (e) => {
    const k = source(e);
    const before = held.get(k);
    if (before) {
      held.delete(k);
      e = { ...e, data: before.data + e.data };
    }
    const cut = e.data.lastIndexOf('\n') + 1;
    if (cut < e.data.length) held.set(k, { ...e, data: e.data.slice(cut) });
    if (cut > 0) show({ ...e, data: e.data.slice(0, cut) });
  };
  const flush = () => {
    for (const e of held.values()) show(e);
    held = new Map();
  };
  while (!signal.aborted) {
    let over = false;
    pre.replaceChildren();
    entries = 0;
    held = new Map();
    setState('live', 'live');
    try {
      await readEvents(path + '/logs?follow=1', (event, data) => {
        if (event === 'log') append(JSON.parse(data));
        else if (event === 'end') {
          over = true;
          flush();
          onEnd(JSON.parse(data));
        }
      }, signal);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof APIError && err.status === 404) return; // the view's poll says so
    }
    if (over) {
      if (!entries) pre.append(el('span', { class: 'note', text: '(no output)\n' }));
      setState('ended', 'ended');
      return;
    }
    setState('reconnecting', 'queued');
    await sleep(2000);
  }
}
