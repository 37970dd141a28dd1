// The dashboard: views chosen by the URL's fragment (#/tasks, #/tasks/ID,
// #/jobs, #/jobs/ID, #/cluster, #/submit), each started when shown and
// stopped when left, so that only the visible view polls the gateway.

import { APIError, forgetToken, getJSON, request, token } from './api.js';
import { badge, bytes, el, field, isDone, short, syncRows, timeCell, when } from './dom.js';
import { jobsView, jobView } from './jobs.js';
import { followLog, line, streamTags } from './logs.js';
import { cancelButton, message, poller, setBanner } from './poll.js';
import { processTables } from './procs.js';

// How many tasks the list shows, newest first: the one page it fetches.
const listLimit = 50;
// How many runs a task's page keeps in the document.
const runLimit = 500;

const $ = (id) => document.getElementById(id);

const ms = (ns) => (ns / 1e6).toFixed(ns < 1e7 ? 2 : 0);

const taskHref = (id) => '#/tasks/' + encodeURIComponent(id);
const taskPath = (id) => 'tasks/' + encodeURIComponent(id);

// ---- the cluster: the header's summary and the Cluster view ----

const cluster = { workers: null, info: null, listeners: new Set() };

async function loadCluster() {
  if (!cluster.info) {
    cluster.info = await getJSON('info');
    const g = $('gateway');
    g.textContent = `shoal ${cluster.info.version} · ${short(cluster.info.peer_id)}`;
    g.title = cluster.info.peer_id;
  }
  cluster.workers = await getJSON('workers');
  let slots = 0;
  let used = 0;
  for (const w of cluster.workers) {
    slots += w.slots;
    used += w.used;
  }
  const n = cluster.workers.length;
  $('summary').textContent = `${n} worker${n === 1 ? '' : 's'} · ${used}/${slots} slots busy`;
  $('forget-token').hidden = !token();
  for (const fn of cluster.listeners) fn();
}

function workerRow(w) {
  const free = w.slots - w.used;
  const mem = w.memory
    ? el('td', { class: 'num' }, el('meter', { min: 0, max: w.memory, value: w.memory_used }),
        `${bytes(w.memory_used)} / ${bytes(w.memory)}`)
    : el('td', { class: 'muted', text: 'no limit' });
  const cached = w.cached || [];
  return el('tr', { 'data-id': w.id },
    el('td', { class: 'mono id', title: w.id, text: short(w.id, 16) }),
    el('td', { class: 'num' }, el('meter', { min: 0, max: w.slots, value: w.used }),
      `${w.used} / ${w.slots}`, el('span', { class: 'muted', text: ` (${free} free)` }),
      w.waiting ? el('span', { class: 'muted', title: 'short runs sent ahead, waiting on the worker for a slot', text: ` +${w.waiting} waiting` }) : false),
    mem,
    el('td', {}, (w.labels || []).map((l) => el('span', { class: 'chip', text: l }))),
    el('td', { title: cached.join('\n') },
      cached.length ? '' : el('span', { class: 'muted', text: 'none' }),
      cached.slice(0, 4).map((h) => el('span', { class: 'chip mono', 'data-module': h, text: short(h, 8) })),
      cached.length > 4 ? el('span', { class: 'muted', text: `+${cached.length - 4}` }) : null),
    el('td', { class: 'num', text: w.runs }),
  );
}

function clusterView() {
  const render = () => {
    const ws = cluster.workers;
    if (!ws) return;
    $('workers').replaceChildren(...ws.map(workerRow));
    $('workers-empty').hidden = ws.length > 0;
    $('worker-count').textContent = `${ws.length} worker${ws.length === 1 ? '' : 's'}`;
    const info = cluster.info;
    if (info) {
      $('gateway-fields').replaceChildren(
        field('Gateway peer ID', info.peer_id, true),
        field('Version', info.version),
        field('Addresses', el('span', {}, (info.addrs || []).map((a) => el('div', { text: a }))), true),
      );
    }
  };
  cluster.listeners.add(render);
  render();
  clusterPoll.now();
  return () => cluster.listeners.delete(render);
}

// ---- the task list ----

function finishedRuns(t) {
  return (t.runs || []).filter((r) => isDone(r.status)).length;
}

function taskRow(t) {
  const done = finishedRuns(t);
  return el('tr', { 'data-id': t.id },
    el('td', { class: 'mono' }, el('a', { href: taskHref(t.id), text: t.id })),
    el('td', { text: t.description }),
    el('td', {}, badge(t.status)),
    el('td', { class: 'num', text: `${t.completions} / ${t.repeats}` }),
    el('td', { class: 'num' }, el('progress', { max: t.repeats, value: done }), `${done}/${t.repeats}`),
    el('td', { class: 'result', title: t.result, text: t.result.trim() }),
    el('td', { text: t.owner || '' }),
    timeCell(t.created),
  );
}

// tasksView shows the newest listLimit tasks (of the chosen status), one
// page of GET /tasks. It asks every second with the ETag of the page it
// has: the gateway answers 304, without a body, until a task changes, so
// an idle list costs a few hundred bytes a second however many tasks the
// gateway holds. The text filter looks at the shown page only.
function tasksView() {
  const rows = new Map(); // id -> {tr, sig}: unchanged rows are kept as they are
  const filter = $('task-filter');
  const status = $('task-status');
  const left = new AbortController(); // ends the request under way on leaving
  let page = [];
  let more = false; // the gateway has older tasks than the page
  let etag = '';
  let asked = ''; // the query the page and its ETag are of
  $('tasks').replaceChildren();
  const render = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = page.filter((t) => !q ||
      [t.id, t.description, t.module, t.result, t.owner || ''].some((s) => s.toLowerCase().includes(q)));
    const sig = (t) => JSON.stringify([t.status, t.completions, t.repeats, t.result, finishedRuns(t), t.description, t.owner]);
    syncRows($('tasks'), rows, shown, (t) => t.id, sig, taskRow);
    const what = status.value ? `${status.value} ` : '';
    let count = more ? `the newest ${page.length} ${what}tasks` : `${page.length} ${what}task${page.length === 1 ? '' : 's'}`;
    if (shown.length !== page.length) count = `${shown.length} matching of ${count}`;
    $('task-count').textContent = page.length ? count : '';
    $('tasks-empty').hidden = page.length > 0 || status.value !== '';
  };
  const load = async () => {
    let path = `tasks?limit=${listLimit}`;
    if (status.value) path += '&status=' + encodeURIComponent(status.value);
    const headers = {};
    if (path === asked && etag) headers['If-None-Match'] = etag;
    // no-store: the page, not the browser's cache, decides what it has.
    const res = await request(path, { signal: left.signal, headers, cache: 'no-store' });
    if (res.status === 304) return;
    const body = await res.json().catch(() => ({ error: `HTTP ${res.status}: not JSON` }));
    if (!res.ok) throw new APIError(res.status, body);
    page = body;
    more = res.headers.has('X-Next-Cursor');
    etag = res.headers.get('ETag') || '';
    asked = path;
    render();
  };
  const p = poller(load, 1000);
  const onStatus = () => p.now();
  filter.addEventListener('input', render);
  status.addEventListener('change', onStatus);
  return () => {
    p.stop();
    left.abort();
    filter.removeEventListener('input', render);
    status.removeEventListener('change', onStatus);
  };
}

// ---- one task: its definition, runs and live logs ----

function renderTask(t) {
  $('task-id').textContent = t.id;
  $('task-status-badge').replaceChildren(badge(t.status));
  $('task-description').textContent = t.description;
  $('task-cancel').hidden = isDone(t.status);
  const f = [
    field('Result', t.result.trim() || '—', true),
    field('Completions', `${t.completions} of ${t.repeats} run${t.repeats === 1 ? '' : 's'}`),
    field('Module', el('span', { title: t.module, text: 'sha256:' + short(t.module, 16) }), true),
    field('Input', t.input ?? '—'),
    field('Difficulty', t.difficulty ?? '—'),
  ];
  if (t.args) f.push(field('Args', JSON.stringify(t.args), true));
  if (t.env) f.push(field('Env', t.env.join(' '), true));
  f.push(
    field('Time limit', `${t.duration} s`),
    field('Start, delay', `${t.start} s, ${t.delay} s`),
    field('Retries', t.retries),
  );
  if (t.memory) f.push(field('Memory', bytes(t.memory)));
  if (t.priority) f.push(field('Priority', t.priority));
  if (t.labels) f.push(field('Labels', t.labels.join(', ')));
  if (t.dirs) f.push(field('Dirs', t.dirs.join(', ')));
  if (t.owner) f.push(field('Owner', t.owner));
  f.push(field('Created', el('span', { title: t.created, text: when(t.created, true) })));
  $('task-fields').replaceChildren(...f);

  const runs = t.runs || [];
  $('runs').replaceChildren(...runs.slice(-runLimit).map(runRow));
  $('runs-empty').hidden = runs.length > 0;
  const procs = t.processes || [];
  $('processes').hidden = procs.length === 0;
  $('process-trees').replaceChildren(...processTables(procs));
}

const phases = [['queue_ns', 'queue'], ['placement_ns', 'placement'], ['fetch_ns', 'fetch'], ['compile_ns', 'compile'],
  ['instantiate_ns', 'instantiate'], ['run_ns', 'run']];

function runRow(r) {
  const tm = r.timing || {};
  const parts = phases.filter(([k]) => tm[k]).map(([k, name]) => `${name} ${ms(tm[k])}`);
  const started = r.started && r.ended ? ms((new Date(r.ended) - new Date(r.started)) * 1e6) : '';
  return el('tr', { 'data-run': r.index },
    el('td', { class: 'num', text: r.index }),
    el('td', { class: 'num', text: r.attempt > 0 ? r.attempt : '' }), // attempt 0 is the first try
    el('td', {}, badge(r.status)),
    el('td', { class: 'mono id', title: r.worker || '', text: short(r.worker, 16) }),
    timeCell(r.due, true),
    timeCell(r.started, true),
    timeCell(r.ended, true),
    el('td', { class: 'num', text: r.ended ? r.exit_code : '' }),
    el('td', { class: 'num fuel', title: 'instructions counted statically per call and loop iteration', text: r.fuel ? r.fuel.toLocaleString('en') : '' }),
    el('td', { class: 'result', title: r.result || '', text: (r.result || '').trim() }),
    el('td', { class: 'run-error', text: r.error || '' }),
    el('td', { class: 'num', title: parts.join('\n') },
      tm.total_ns ? ms(tm.total_ns) : started,
      parts.length ? el('div', { class: 'muted', text: parts.join(' · ') }) : null),
  );
}

function taskView(id) {
  const left = new AbortController(); // ends the requests under way on leaving
  // Each entry tagged with its run and the pid that wrote it.
  const render = (e) => {
    let tag = `run ${e.run}`;
    if (e.attempt > 0) tag += ` retry ${e.attempt}`;
    return line(`${tag} [${e.process || 0}] ${streamTags[e.stream] || e.stream}`, e.stream, e.data);
  };

  $('task-id').textContent = id;
  for (const c of ['task-status-badge', 'task-fields', 'runs', 'process-trees', 'logs']) $(c).replaceChildren();
  $('processes').hidden = true;
  $('task-description').textContent = '';
  $('task-cancel').hidden = true;
  $('runs-empty').hidden = true;

  let p = null;
  const load = async () => {
    try {
      const t = await getJSON(`${taskPath(id)}?runs=${runLimit}`, { signal: left.signal }); // the runs it shows
      renderTask(t);
      if (isDone(t.status)) p.stop(); // an ended task changes no more
    } catch (err) {
      if (err instanceof APIError && err.status === 404) {
        p.stop();
        $('log-state').textContent = 'no such task';
        $('log-state').className = 'badge failed';
        $('task-description').textContent = err.message;
        return;
      }
      throw err;
    }
  };
  p = poller(load, 1000);

  followLog(taskPath(id), $('logs'), $('log-state'), render, renderTask, left.signal);

  const stopCancel = cancelButton($('task-cancel'), taskPath(id), renderTask, left.signal);
  return () => {
    p.stop();
    left.abort();
    stopCancel();
  };
}

// ---- submitting a task ----

const textFields = ['id', 'description', 'input', 'difficulty', 'repeats'];

function submitView() {
  const form = $('submit');
  const err = $('submit-error');
  const state = $('submit-state');
  const button = form.querySelector('button[type=submit]');
  let here = true;
  const showError = (text, name) => {
    err.textContent = text;
    err.hidden = false;
    const input = name && form.elements.namedItem(name);
    if (input instanceof HTMLInputElement) {
      input.classList.add('invalid');
      input.focus();
    }
  };
  const onSubmit = async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    for (const i of form.querySelectorAll('.invalid')) i.classList.remove('invalid');
    const input = (name) => form.elements.namedItem(name);
    const file = input('wasm').files[0];
    if (!file) {
      showError('wasm: choose a module (.wasm file) to run', 'wasm');
      return;
    }
    const body = new FormData();
    for (const name of textFields) {
      const v = input(name).value.trim();
      if (v) body.append(name, v);
    }
    // args: a JSON array as it is, or words separated by spaces.
    const args = input('args').value.trim();
    if (args.startsWith('[')) body.append('args', args);
    else if (args) for (const a of args.split(/\s+/)) body.append('args', a);
    body.append('wasm', file, file.name);
    button.disabled = true;
    state.textContent = 'Uploading…';
    try {
      const res = await request('tasks', { method: 'POST', body });
      const out = await res.json().catch(() => ({ error: `HTTP ${res.status}: not JSON` }));
      if (res.status === 201) {
        input('id').value = '';
        if (here) location.hash = taskHref(out.id); // unless the user went elsewhere meanwhile
      } else {
        showError(out.error, out.field);
      }
    } catch (e) {
      showError(message(e));
    } finally {
      button.disabled = false;
      state.textContent = '';
    }
  };
  const onInput = (ev) => ev.target.classList.remove('invalid');
  form.addEventListener('submit', onSubmit);
  form.addEventListener('input', onInput);
  return () => {
    here = false;
    form.removeEventListener('submit', onSubmit);
    form.removeEventListener('input', onInput);
  };
}

// ---- routing ----

let leave = null;

function route() {
  if (leave) leave();
  leave = null;
  setBanner('');
  const hash = location.hash.replace(/^#\/?/, '');
  let name = 'tasks';
  let start = tasksView;
  let arg;
  if (hash.startsWith('tasks/') && hash.length > 6) {
    name = 'task';
    start = taskView;
    arg = decodeURIComponent(hash.slice(6));
  } else if (hash === 'jobs') {
    name = 'jobs';
    start = jobsView;
  } else if (hash.startsWith('jobs/') && hash.length > 5) {
    name = 'job';
    start = jobView;
    arg = decodeURIComponent(hash.slice(5));
  } else if (hash === 'cluster') {
    name = 'cluster';
    start = clusterView;
  } else if (hash === 'submit') {
    name = 'submit';
    start = submitView;
  }
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + name;
  const tab = { task: 'tasks', job: 'jobs' }[name] || name;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === tab);
  document.title = (arg ?? name[0].toUpperCase() + name.slice(1)) + ' · Shoal';
  leave = start(arg);
}

$('forget-token').addEventListener('click', () => {
  forgetToken();
  location.reload();
});
// The header's summary stays current on every view; the Cluster view shows
// the same data.
const clusterPoll = poller(loadCluster, 2000);
window.addEventListener('hashchange', route);
route();
