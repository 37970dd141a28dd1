// A task's process trees (docs/PROCESSES.md): one per run attempt that
// spawned processes, each process under its parent, as pstree draws them.

import { badge, bytes, el, isDone, short } from './dom.js';

const byNumber = (a, b) => a - b;

// processTrees groups processes by run attempt (oldest first) and orders
// each tree depth first, children by pid. Each row has the tree lines
// drawn before its pid ('├─ ', '│  └─ ', ...). A process whose parent is
// not in the list is shown as a root, so that none is left out.
export function processTrees(procs) {
  const groups = new Map();
  for (const p of procs || []) {
    const key = `${p.run}/${p.attempt}`;
    if (!groups.has(key)) groups.set(key, { run: p.run, attempt: p.attempt, procs: [] });
    groups.get(key).procs.push(p);
  }
  const trees = [...groups.values()].sort((a, b) => a.run - b.run || a.attempt - b.attempt);
  return trees.map((t) => ({ run: t.run, attempt: t.attempt, rows: treeRows(t.procs) }));
}

function treeRows(procs) {
  const sorted = [...procs].sort((a, b) => byNumber(a.pid, b.pid));
  const pids = new Set(sorted.map((p) => p.pid));
  const children = new Map();
  const roots = [];
  for (const p of sorted) {
    if (p.parent < 0 || p.parent === p.pid || !pids.has(p.parent)) roots.push(p);
    else {
      if (!children.has(p.parent)) children.set(p.parent, []);
      children.get(p.parent).push(p);
    }
  }
  const rows = [];
  const seen = new Set();
  const walk = (p, lead, branch) => {
    if (seen.has(p.pid)) return; // a cycle of parents, which a gateway never makes
    seen.add(p.pid);
    rows.push({ indent: lead + branch, p });
    const next = lead + (branch === '├─ ' ? '│  ' : branch === '└─ ' ? '   ' : '');
    const kids = children.get(p.pid) || [];
    kids.forEach((c, i) => walk(c, next, i === kids.length - 1 ? '└─ ' : '├─ '));
  };
  for (const r of roots) walk(r, '', '');
  return rows;
}

// exit is a process's exit code, else its error, or '' while it runs or
// when it ended with neither (a negative code is the gateway's "none").
function exit(p) {
  if (p.exit_code > 0) return String(p.exit_code);
  if (p.error) return 'error: ' + p.error;
  if (p.exit_code < 0) return '';
  return p.ended || isDone(p.status) ? '0' : '';
}

// cores writes a reservation as the gateway's log lines do
// (api.FormatCores): a whole number or a fraction of halves to sixteenths
// within a millicore (63 millicores is 1/16), else a decimal.
export function cores(c) {
  const m = Math.round(c * 1000);
  for (const den of [1, 2, 4, 8, 16]) {
    const n = Math.floor((m * den + 500) / 1000);
    const d = m * den - n * 1000;
    if (d >= -den && d <= den && (n > 0 || m === 0)) return den === 1 ? String(n) : `${n}/${den}`;
  }
  return String(m / 1000);
}

function processRow({ indent, p }) {
  return el('tr', { 'data-pid': p.pid },
    el('td', { class: 'mono pid' }, el('span', { class: 'tree', text: indent }), String(p.pid)),
    el('td', {}, badge(p.status)),
    el('td', { class: 'mono id', title: p.worker || '', text: short(p.worker, 16) }),
    el('td', { class: 'num', text: p.cores ? cores(p.cores) : '' }),
    el('td', { class: 'num', text: p.memory ? bytes(p.memory) : '' }),
    el('td', { class: p.error && !(p.exit_code > 0) ? 'run-error' : 'num', title: p.error || '', text: exit(p) }),
    el('td', { class: 'mono muted', text: p.key || '' }),
  );
}

// processTables is the DOM of a task's process trees: a table per run
// attempt, titled by its run when there are several.
export function processTables(procs) {
  const trees = processTrees(procs);
  const out = [];
  for (const t of trees) {
    if (trees.length > 1) {
      out.push(el('h3', { text: `Run ${t.run}` + (t.attempt > 0 ? ` (retry ${t.attempt})` : '') }));
    }
    out.push(el('table', { class: 'list processes', 'data-run': t.run, 'data-attempt': t.attempt },
      el('thead', {}, el('tr', {}, ['PID', 'Status', 'Worker', 'Cores', 'Memory', 'Exit', 'Key'].map((h) => el('th', { text: h })))),
      el('tbody', {}, t.rows.map(processRow))));
  }
  return out;
}
