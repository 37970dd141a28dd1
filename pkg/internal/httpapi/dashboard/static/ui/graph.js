// A job's steps as a graph: a column per depth (the longest chain of needs
// before a step), an arrow from each needed step to the step, each node in
// the colour of its status. Plain SVG, built with textContent only.

import { seconds } from './dom.js';

const nodeW = 176;
const nodeH = 50;
const gapX = 64;
const gapY = 18;
const margin = 8;

// depths maps each step's id to its depth: 0 without needs, else one more
// than the deepest step it needs. Needs of unknown steps are left out; a
// cycle, which the gateway refuses, stops at the step met again.
function depths(steps) {
  const byID = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map();
  const visiting = new Set();
  const walk = (s) => {
    if (depth.has(s.id)) return depth.get(s.id);
    if (visiting.has(s.id)) return 0;
    visiting.add(s.id);
    let d = 0;
    for (const n of s.needs || []) {
      if (byID.has(n)) d = Math.max(d, walk(byID.get(n)) + 1);
    }
    visiting.delete(s.id);
    depth.set(s.id, d);
    return d;
  };
  for (const s of steps) walk(s);
  return depth;
}

/**
 * layout places a job's steps: {nodes: [{step, col, row, x, y}], edges:
 * [{from, to, d}], width, height}. Within a column, steps are ordered by
 * the mean row of the steps they need (fewer crossings), then as the job
 * lists them; a column shorter than the tallest is centred.
 */
export function layout(steps) {
  const depth = depths(steps);
  const cols = [];
  steps.forEach((s, i) => {
    const d = depth.get(s.id);
    (cols[d] ||= []).push({ step: s, index: i });
  });
  const rowOf = new Map();
  const nodes = [];
  const tallest = Math.max(0, ...cols.map((c) => c.length));
  cols.forEach((col, c) => {
    const mean = (s) => {
      const rows = (s.needs || []).filter((n) => rowOf.has(n)).map((n) => rowOf.get(n));
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
    };
    col.sort((a, b) => mean(a.step) - mean(b.step) || a.index - b.index);
    const shift = ((tallest - col.length) * (nodeH + gapY)) / 2;
    col.forEach(({ step }, r) => {
      rowOf.set(step.id, r);
      nodes.push({ step, col: c, row: r, x: margin + c * (nodeW + gapX), y: margin + shift + r * (nodeH + gapY) });
    });
  });
  const at = new Map(nodes.map((n) => [n.step.id, n]));
  const edges = [];
  for (const n of nodes) {
    for (const need of new Set(n.step.needs || [])) {
      const m = at.get(need);
      if (!m) continue;
      const x1 = m.x + nodeW;
      const y1 = m.y + nodeH / 2;
      const x2 = n.x - 2; // the arrow's tip stops at the border
      const y2 = n.y + nodeH / 2;
      const bend = Math.max(gapX / 2, (x2 - x1) / 3);
      edges.push({ from: need, to: n.step.id, d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` });
    }
  }
  return {
    nodes,
    edges,
    width: 2 * margin + cols.length * nodeW + Math.max(0, cols.length - 1) * gapX,
    height: 2 * margin + tallest * nodeH + Math.max(0, tallest - 1) * gapY,
  };
}

const svgNS = 'http://www.w3.org/2000/svg';

// svg builds an SVG element; attributes are set as attributes, and text
// goes in as textContent.
function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  e.append(...children.flat().filter(Boolean));
  return e;
}

const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

const ended = new Set(['succeeded', 'failed', 'canceled']);

// outcome is a step's second line: its status and how it ended.
export function outcome(s) {
  const parts = [s.status];
  if (ended.has(s.status) && s.exit_code > 0) parts.push(`exit ${s.exit_code}`);
  const took = seconds(s.started, s.ended);
  if (took) parts.push(took);
  return parts.join(' · ');
}

// hover is a node's tooltip: everything the node has no room for.
function hover(s) {
  const lines = [s.name ? `${s.id}: ${s.name}` : s.id, outcome(s)];
  if (s.needs && s.needs.length) lines.push('needs ' + s.needs.join(', '));
  if (s.error) lines.push('error: ' + s.error);
  return lines.join('\n');
}

/** stepGraph is the SVG of a job's steps. */
export function stepGraph(steps) {
  const g = layout(steps || []);
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
    svg('path', { d: 'M0,0 L10,5 L0,10 z' }));
  return svg('svg', { class: 'graph', width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`, role: 'img' },
    svg('title', { text: `${g.nodes.length} steps` }),
    svg('defs', {}, marker),
    g.edges.map((e) => svg('path', { class: 'edge', d: e.d, 'marker-end': 'url(#arrow)', 'data-from': e.from, 'data-to': e.to })),
    g.nodes.map(({ step: s, col, x, y }) => svg('g', { class: 'node ' + s.status, 'data-step': s.id, 'data-col': col, transform: `translate(${x},${y})` },
      svg('title', { text: hover(s) }),
      svg('rect', { width: nodeW, height: nodeH, rx: 7 }),
      svg('text', { class: 'id', x: 10, y: 20, text: clip(s.id, 22) }),
      svg('text', { class: 'outcome', x: 10, y: 38, text: clip(outcome(s), 28) }))),
  );
}
