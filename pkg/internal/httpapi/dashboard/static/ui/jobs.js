// The jobs' views: the list (#/jobs) and one job (#/jobs/ID) with its
// steps as a graph, its live log, its files and its callback attempts.

import { APIError, getJSON, request, token } from './api.js';
import { badge, bytes, el, field, isDone, seconds, short, syncRows, timeCell, when } from './dom.js';
import { stepGraph } from './graph.js';
import { followLog, line, streamTags } from './logs.js';
import { cancelButton, message, poller, setBanner } from './poll.js';

// How many jobs the list shows, newest first: the one page it fetches.
const listLimit = 50;

const $ = (id) => document.getElementById(id);

const jobHref = (id) => '#/jobs/' + encodeURIComponent(id);
const jobPath = (id) => 'jobs/' + encodeURIComponent(id);

const stepEnded = (s) => isDone(s.status) || s.status === 'skipped';

// ---- the list ----

function jobRow(j) {
  const steps = j.steps || [];
  const done = steps.filter(stepEnded).length;
  return el('tr', { 'data-id': j.id },
    el('td', { class: 'mono' }, el('a', { href: jobHref(j.id), text: j.id })),
    el('td', { text: j.name || '' }),
    el('td', {}, badge(j.status)),
    el('td', { class: 'num' }, el('progress', { max: steps.length, value: done }), `${done}/${steps.length}`),
    el('td', { class: 'mono id', title: j.worker || '', text: short(j.worker, 16) }),
    timeCell(j.created),
    el('td', { class: 'num', text: seconds(j.started, j.ended) }),
  );
}

// jobsView shows the newest listLimit jobs (of the chosen status), one
// page of GET /jobs, asked for every second. Unlike the task list it asks
// without the page's ETag: a step's start and end do not move the
// gateway's revision, so a 304 would hide the steps' progress.
export function jobsView() {
  const rows = new Map(); // id -> {tr, sig}: unchanged rows are kept as they are
  const status = $('job-status');
  const left = new AbortController(); // ends the request under way on leaving
  $('jobs').replaceChildren();
  const load = async () => {
    let path = `jobs?limit=${listLimit}`;
    if (status.value) path += '&status=' + encodeURIComponent(status.value);
    const res = await request(path, { signal: left.signal, cache: 'no-store' });
    const page = await res.json().catch(() => ({ error: `HTTP ${res.status}: not JSON` }));
    if (!res.ok) throw new APIError(res.status, page);
    const sig = (j) => JSON.stringify([j.status, j.name, j.worker, (j.steps || []).map((s) => s.status), seconds(j.started, j.ended)]);
    syncRows($('jobs'), rows, page, (j) => j.id, sig, jobRow);
    const what = status.value ? `${status.value} ` : '';
    const more = res.headers.has('X-Next-Cursor');
    $('job-count').textContent = !page.length ? ''
      : more ? `the newest ${page.length} ${what}jobs` : `${page.length} ${what}job${page.length === 1 ? '' : 's'}`;
    $('jobs-empty').hidden = page.length > 0 || status.value !== '';
  };
  const p = poller(load, 1000);
  const onStatus = () => p.now();
  status.addEventListener('change', onStatus);
  return () => {
    p.stop();
    left.abort();
    status.removeEventListener('change', onStatus);
  };
}

// ---- one job ----

function stepRow(s) {
  return el('tr', { 'data-step': s.id },
    el('td', { class: 'mono', text: s.id }),
    el('td', { text: s.name || '' }),
    el('td', {}, badge(s.status)),
    el('td', { class: 'mono', text: (s.needs || []).join(', ') }),
    el('td', { class: 'mono id', title: s.module, text: short(s.module, 12) }),
    timeCell(s.started, true),
    el('td', { class: 'num', text: seconds(s.started, s.ended) }),
    el('td', { class: 'num', text: s.ended && isDone(s.status) ? s.exit_code : '' }),
    el('td', { class: 'run-error', text: s.error || '' }),
  );
}

// download fetches a file with the token, which a plain link cannot send;
// without a token the link downloads as it is.
async function download(ev, href, name) {
  if (!token()) return;
  ev.preventDefault();
  try {
    const res = await request(href);
    if (!res.ok) throw new APIError(res.status, await res.json().catch(() => ({})));
    const url = URL.createObjectURL(await res.blob());
    el('a', { href: url, download: name }).click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (err) {
    setBanner(message(err));
  }
}

function fileRow(id, f) {
  const href = jobPath(id) + '/files/' + f.path.split('/').map(encodeURIComponent).join('/');
  const name = f.path.split('/').pop();
  const a = el('a', { href, download: name, text: f.path });
  a.addEventListener('click', (ev) => download(ev, href, name));
  return el('tr', { 'data-path': f.path },
    el('td', { class: 'mono' }, a),
    el('td', { class: 'num', text: bytes(f.size) }),
    el('td', { class: 'mono id', title: f.sha256, text: short(f.sha256, 16) }),
  );
}

function callbackRow(c) {
  return el('tr', {},
    timeCell(c.time, true),
    el('td', {}, badge(c.status)),
    el('td', { class: 'num', text: c.attempt }),
    el('td', { class: 'num', text: c.code || '' }),
    el('td', { class: 'run-error', text: c.error || '' }),
  );
}

// renderJob shows j; files keeps the file rows (path -> {tr, sig}), so
// that a row stays as it is while the job is polled for its callbacks (a
// link keeps its focus and hover).
function renderJob(j, files) {
  const steps = j.steps || [];
  $('job-id').textContent = j.id;
  $('job-status-badge').replaceChildren(badge(j.status));
  $('job-name').textContent = j.name || '';
  $('job-cancel').hidden = isDone(j.status);
  const f = [
    field('Steps', `${steps.filter(stepEnded).length} of ${steps.length} ended`),
    field('Worker', el('span', { title: j.worker || '', text: short(j.worker, 16) || '—' }), true),
  ];
  if (j.attempt > 0) f.push(field('Attempt', `retry ${j.attempt}`));
  f.push(
    field('Created', el('span', { title: j.created, text: when(j.created, true) })),
    field('Started', el('span', { title: j.started || '', text: when(j.started, true) || '—' })),
    field('Duration', seconds(j.started, j.ended) || '—'),
    field('Time limit', `${j.timeout_seconds} s`),
  );
  if (j.priority) f.push(field('Priority', j.priority));
  if (j.labels) f.push(field('Labels', j.labels.join(', ')));
  if (j.owner) f.push(field('Owner', j.owner));
  if (j.metadata) {
    f.push(field('Metadata', el('span', {}, Object.entries(j.metadata).map(([k, v]) => el('div', { text: `${k}=${v}` }))), true));
  }
  if (j.callback_url) f.push(field('Callback URL', j.callback_url, true));
  if (j.error) f.push(field('Error', j.error));
  $('job-fields').replaceChildren(...f);

  $('job-graph').replaceChildren(stepGraph(steps));
  $('job-steps').replaceChildren(...steps.map(stepRow));

  const fs = j.files || [];
  syncRows($('job-files'), files, fs, (x) => x.path, (x) => `${x.size} ${x.sha256}`, (x) => fileRow(j.id, x));
  $('job-files-table').hidden = fs.length === 0;
  $('job-files-empty').hidden = fs.length > 0;
  $('job-files-empty').textContent = isDone(j.status) ? 'The job left no files in /shared.' : 'The files are kept when the job ends.';

  const cbs = j.callbacks || [];
  $('job-callbacks-section').hidden = !j.callback_url && cbs.length === 0;
  $('job-callbacks').replaceChildren(...cbs.map(callbackRow));
  $('job-callbacks-empty').hidden = cbs.length > 0;
}

// settled reports whether a job changes no more: it ended, and the
// callback of its final status, if it has a callback_url, was delivered
// or given up (the attempts come after the end): a 2xx, a last failed
// attempt ("; not retried", "; gave up after attempt N") or a status
// never POSTed (attempt 0, dropped).
function settled(j) {
  if (!isDone(j.status)) return false;
  if (!j.callback_url) return true;
  const final = (c) => (c.code >= 200 && c.code < 300) || c.attempt === 0 ||
    /; (not retried|gave up after attempt \d+)$/.test(c.error || '');
  return (j.callbacks || []).some((c) => c.status === j.status && final(c));
}

// jobView shows job id, polled every second until it has settled, and
// its log as it comes, each line tagged with the step that wrote it.
export function jobView(id) {
  const left = new AbortController(); // ends the requests under way on leaving
  $('job-id').textContent = id;
  for (const c of ['job-status-badge', 'job-fields', 'job-graph', 'job-steps', 'job-files', 'job-callbacks', 'job-logs']) $(c).replaceChildren();
  $('job-name').textContent = '';
  $('job-cancel').hidden = true;
  $('job-callbacks-section').hidden = true;

  // The poll draws the job until it has settled. The log's end and the
  // cancel's answer draw theirs too, and ask the poll for the newest (a
  // job just canceled may still have a step ending), but never once the
  // poll has settled: theirs may be older (the log's end after a poll saw
  // the final callback), and nothing would draw the newest again.
  const files = new Map(); // the file rows, kept across draws
  let done = false;
  let p = null;
  const show = (j) => {
    if (done) return;
    renderJob(j, files);
    p.now();
  };
  const load = async () => {
    try {
      const j = await getJSON(jobPath(id), { signal: left.signal });
      if (done) return;
      renderJob(j, files);
      if (settled(j)) {
        done = true;
        p.stop();
      }
    } catch (err) {
      if (err instanceof APIError && err.status === 404) {
        p.stop();
        $('job-log-state').textContent = 'no such job';
        $('job-log-state').className = 'badge failed';
        $('job-name').textContent = err.message;
        return;
      }
      throw err;
    }
  };
  p = poller(load, 1000);

  const render = (e) => {
    let tag = e.step || '—';
    if (e.attempt > 0) tag += ` retry ${e.attempt}`;
    tag += ' ' + (streamTags[e.stream] || e.stream);
    return e.data.replace(/\n$/, '').split('\n').flatMap((l) => line(tag, e.stream, l));
  };
  followLog(jobPath(id), $('job-logs'), $('job-log-state'), render, show, left.signal);

  const stopCancel = cancelButton($('job-cancel'), jobPath(id), show, left.signal);
  return () => {
    p.stop();
    left.abort();
    stopCancel();
  };
}
